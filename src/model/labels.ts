/**
 * Label selector matching, as the API machinery defines it (k8s.io/apimachinery labels.Selector).
 * Syntax is checked by validation; these functions assume a valid selector.
 */
import type { LabelSelector } from './types.js';

/** A map selector (Service.spec.selector, nodeSelector): every key must be present with that value. */
export function matchesMap(labels: Record<string, string> | undefined, selector: Record<string, string>): boolean {
  for (const key in selector) {
    if (labels?.[key] !== selector[key]) return false;
  }
  return true;
}

/**
 * A LabelSelector (workloads, NetworkPolicy). An empty selector `{}` matches everything; an absent one (undefined)
 * matches nothing, as for workload selectors. (A NetworkPolicy peer with only a namespaceSelector means every pod of
 * those namespaces: its caller must not pass the absent podSelector here.)
 */
export function matchesSelector(
  labels: Record<string, string> | undefined,
  selector: LabelSelector | undefined,
): boolean {
  if (!selector) return false;
  if (selector.matchLabels && !matchesMap(labels, selector.matchLabels)) return false;
  for (const req of selector.matchExpressions ?? []) {
    const has = labels !== undefined && Object.hasOwn(labels, req.key);
    const value = has ? labels[req.key]! : undefined;
    switch (req.operator) {
      case 'In':
        if (!has || !req.values?.includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && req.values?.includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/**
 * `app=web,tier in (a,b)`: the selector as kubectl prints it. A map prints as labels.Set does (keys sorted); a
 * LabelSelector as LabelSelectorAsSelector's selector does: its requirements sorted by key (matchLabels before
 * expressions on the same key, as Go's sort leaves a list this short), the values of `in`/`notin` sorted.
 */
export function formatSelector(selector: LabelSelector | Record<string, string> | undefined): string {
  if (!selector) return '<none>';
  const isLabelSelector = 'matchLabels' in selector || 'matchExpressions' in selector;
  const map = (isLabelSelector ? (selector as LabelSelector).matchLabels : selector) as
    | Record<string, string>
    | undefined;
  const parts: { key: string; text: string }[] = Object.entries(map ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, text: `${key}=${value}` }));
  if (isLabelSelector) {
    for (const req of (selector as LabelSelector).matchExpressions ?? []) {
      const values = [...(req.values ?? [])].sort();
      const text =
        req.operator === 'Exists'
          ? req.key
          : req.operator === 'DoesNotExist'
            ? `!${req.key}`
            : `${req.key} ${req.operator === 'In' ? 'in' : 'notin'} (${values.join(',')})`;
      parts.push({ key: req.key, text });
    }
    parts.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  return parts.length ? parts.map((p) => p.text).join(',') : '<none>';
}
