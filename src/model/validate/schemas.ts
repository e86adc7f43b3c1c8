/**
 * The JSON types of the fields kube-netsim reads, per kind, for the decoding check in shape.ts.
 * They follow the Kubernetes API types (k8s.io/api) for the fields our model keeps; other fields are not checked.
 */
import type { Kind } from '../types.js';
import type { Shape } from './shape.js';

const strings: Shape = { array: 'string' };
const stringMap: Shape = { map: 'string' };

const objectMeta: Shape = {
  object: {
    name: 'string',
    generateName: 'string',
    namespace: 'string',
    labels: stringMap,
    annotations: stringMap,
    resourceVersion: 'string',
    uid: 'string',
    ownerReferences: {
      array: {
        object: { apiVersion: 'string', kind: 'string', name: 'string', uid: 'string', controller: 'boolean' },
      },
    },
    deletionTimestamp: 'string',
  },
};

export const labelSelectorShape: Shape = {
  object: {
    matchLabels: stringMap,
    matchExpressions: { array: { object: { key: 'string', operator: 'string', values: strings } } },
  },
};

const containerPort: Shape = {
  object: { name: 'string', containerPort: 'integer', protocol: 'string', hostPort: 'integer', hostIP: 'string' },
};

const container: Shape = {
  object: {
    name: 'string',
    image: 'string',
    restartPolicy: 'string',
    ports: { array: containerPort },
    resources: { object: { requests: { map: 'quantity' }, limits: { map: 'quantity' } } },
    env: { array: { object: { name: 'string', value: 'string' } } },
  },
};

export const podSpecShape: Shape = {
  object: {
    containers: { array: container },
    initContainers: { array: container },
    nodeName: 'string',
    nodeSelector: stringMap,
    tolerations: {
      array: {
        object: {
          key: 'string',
          operator: 'string',
          value: 'string',
          effect: 'string',
          tolerationSeconds: 'integer',
        },
      },
    },
    hostname: 'string',
    subdomain: 'string',
    hostAliases: { array: { object: { ip: 'string', hostnames: strings } } },
    hostNetwork: 'boolean',
    dnsPolicy: 'string',
    dnsConfig: {
      object: {
        nameservers: strings,
        searches: strings,
        options: { array: { object: { name: 'string', value: 'string' } } },
      },
    },
    enableServiceLinks: 'boolean',
    setHostnameAsFQDN: 'boolean',
    restartPolicy: 'string',
    schedulerName: 'string',
    schedulingGates: { array: { object: { name: 'string' } } },
    priority: 'integer',
  },
};

const podIPs: Shape = { array: { object: { ip: 'string' } } };

const podStatus: Shape = {
  object: {
    phase: 'string',
    podIP: 'string',
    podIPs,
    hostIP: 'string',
    hostIPs: podIPs,
    conditions: {
      array: { object: { type: 'string', status: 'string', reason: 'string', message: 'string' } },
    },
    reason: 'string',
    message: 'string',
  },
};

const podTemplate: Shape = {
  object: { metadata: { object: { labels: stringMap, annotations: stringMap } }, spec: podSpecShape },
};

const servicePort: Shape = {
  object: {
    name: 'string',
    protocol: 'string',
    port: 'integer',
    targetPort: 'intOrString',
    nodePort: 'integer',
    appProtocol: 'string',
  },
};

const serviceSpec: Shape = {
  object: {
    type: 'string',
    selector: stringMap,
    ports: { array: servicePort },
    clusterIP: 'string',
    clusterIPs: strings,
    ipFamilies: strings,
    ipFamilyPolicy: 'string',
    externalName: 'string',
    externalIPs: strings,
    loadBalancerIP: 'string',
    loadBalancerSourceRanges: strings,
    loadBalancerClass: 'string',
    allocateLoadBalancerNodePorts: 'boolean',
    externalTrafficPolicy: 'string',
    internalTrafficPolicy: 'string',
    healthCheckNodePort: 'integer',
    sessionAffinity: 'string',
    sessionAffinityConfig: { object: { clientIP: { object: { timeoutSeconds: 'integer' } } } },
    publishNotReadyAddresses: 'boolean',
    trafficDistribution: 'string',
  },
};

const serviceStatus: Shape = {
  object: {
    loadBalancer: {
      object: { ingress: { array: { object: { ip: 'string', hostname: 'string', ipMode: 'string' } } } },
    },
  },
};

const workloadSpec: Shape = {
  object: {
    replicas: 'integer',
    selector: labelSelectorShape,
    template: podTemplate,
    serviceName: 'string',
    podManagementPolicy: 'string',
    minReadySeconds: 'integer',
    ordinals: { object: { start: 'integer' } },
  },
};

const networkPolicyPort: Shape = { object: { protocol: 'string', port: 'intOrString', endPort: 'integer' } };
const networkPolicyPeer: Shape = {
  object: {
    podSelector: labelSelectorShape,
    namespaceSelector: labelSelectorShape,
    ipBlock: { object: { cidr: 'string', except: strings } },
  },
};

const endpoint: Shape = {
  object: {
    addresses: strings,
    conditions: { object: { ready: 'boolean', serving: 'boolean', terminating: 'boolean' } },
    hostname: 'string',
    nodeName: 'string',
    zone: 'string',
    targetRef: { object: { kind: 'string', namespace: 'string', name: 'string', uid: 'string' } },
    hints: {
      object: {
        forZones: { array: { object: { name: 'string' } } },
        forNodes: { array: { object: { name: 'string' } } },
      },
    },
  },
};

const endpointAddress: Shape = {
  object: {
    ip: 'string',
    hostname: 'string',
    nodeName: 'string',
    targetRef: { object: { kind: 'string', namespace: 'string', name: 'string', uid: 'string' } },
  },
};

const endpointSubset: Shape = {
  object: {
    addresses: { array: endpointAddress },
    notReadyAddresses: { array: endpointAddress },
    ports: { array: { object: { name: 'string', port: 'integer', protocol: 'string', appProtocol: 'string' } } },
  },
};

function kindShape(fields: Record<string, Shape>): Shape {
  return { object: { apiVersion: 'string', kind: 'string', metadata: objectMeta, ...fields } };
}

/** The decoding shape of each kind's whole object. */
export const KIND_SHAPES: Record<Kind, Shape> = {
  Namespace: kindShape({ spec: { object: { finalizers: strings } }, status: { object: { phase: 'string' } } }),
  Node: kindShape({
    spec: {
      object: {
        podCIDR: 'string',
        podCIDRs: strings,
        unschedulable: 'boolean',
        taints: { array: { object: { key: 'string', value: 'string', effect: 'string' } } },
      },
    },
    status: {
      object: {
        addresses: { array: { object: { type: 'string', address: 'string' } } },
        allocatable: { map: 'quantity' },
        capacity: { map: 'quantity' },
        conditions: { array: { object: { type: 'string', status: 'string', reason: 'string' } } },
        nodeInfo: {
          object: {
            kubeletVersion: 'string',
            osImage: 'string',
            kernelVersion: 'string',
            containerRuntimeVersion: 'string',
          },
        },
      },
    },
  }),
  Pod: kindShape({ spec: podSpecShape, status: podStatus }),
  Service: kindShape({ spec: serviceSpec, status: serviceStatus }),
  Endpoints: kindShape({ subsets: { array: endpointSubset } }),
  EndpointSlice: kindShape({
    addressType: 'string',
    endpoints: { array: endpoint },
    ports: { array: { object: { name: 'string', protocol: 'string', port: 'integer', appProtocol: 'string' } } },
  }),
  Deployment: kindShape({ spec: workloadSpec }),
  ReplicaSet: kindShape({ spec: workloadSpec }),
  StatefulSet: kindShape({ spec: workloadSpec }),
  DaemonSet: kindShape({ spec: workloadSpec }),
  NetworkPolicy: kindShape({
    spec: {
      object: {
        podSelector: labelSelectorShape,
        policyTypes: strings,
        ingress: { array: { object: { from: { array: networkPolicyPeer }, ports: { array: networkPolicyPort } } } },
        egress: { array: { object: { to: { array: networkPolicyPeer }, ports: { array: networkPolicyPort } } } },
      },
    },
  }),
};
