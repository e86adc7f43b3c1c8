/**
 * `serve` follows its inputs through directory watches (src/cli/watch-inputs.ts). Each case makes one kind of
 * change a user or a tool makes, then checks it is reported: editors' and `sed -i`'s rename-over saves, directories
 * replaced or made later, inputs behind symlinks (a ConfigMap volume's `..data` swap included), and a storm of
 * writes reported as a few bursts, not one report per file.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { type WatchOptions, watchInputs } from '../../src/cli/watch-inputs.js';

const DEBOUNCE_MS = 30;

/** A watcher over `paths` under a fresh directory, and a way to make a change and wait until it is reported. */
function rig(setup: (root: string) => string[], options: WatchOptions = {}) {
  const root = mkdtempSync(join(tmpdir(), 'kube-netsim-watch-'));
  let reports = 0;
  const stop = watchInputs(
    setup(root),
    () => {
      reports++;
    },
    { debounceMs: DEBOUNCE_MS, ...options },
  );
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Wait until reports stop coming (what one change set off has all been reported). */
  const quiet = async () => {
    for (let last = -1; last !== reports; ) {
      last = reports;
      await sleep((options.debounceMs ?? DEBOUNCE_MS) * 4);
    }
  };
  return {
    root,
    reports: () => reports,
    /** Whether `change` is reported (within 10 s). */
    async seen(change: () => void): Promise<boolean> {
      await quiet();
      const before = reports;
      change();
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(10)) {
        if (reports > before) return true;
      }
      return false;
    },
    quiet,
    done() {
      stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function renameOver(path: string, text: string): void {
  writeFileSync(`${path}.swp`, text);
  renameSync(`${path}.swp`, path);
}

test('a file input replaced by rename, twice, and edited in place', async (t) => {
  const r = rig((root) => {
    writeFileSync(join(root, 'a.yaml'), 'a: 1\n');
    return [join(root, 'a.yaml')];
  });
  try {
    t.true(await r.seen(() => renameOver(join(r.root, 'a.yaml'), 'a: 2\n')), 'first replacement');
    t.true(await r.seen(() => renameOver(join(r.root, 'a.yaml'), 'a: 3\n')), 'second replacement');
    t.true(await r.seen(() => writeFileSync(join(r.root, 'a.yaml'), 'a: 4\n')), 'in place');
  } finally {
    r.done();
  }
});

test('a directory input: files in subdirectories made later, and subdirectories replaced in one go', async (t) => {
  const r = rig((root) => {
    mkdirSync(join(root, 'in', 'sub'), { recursive: true });
    return [join(root, 'in')];
  });
  const sub = join(r.root, 'in', 'sub');
  try {
    t.true(await r.seen(() => mkdirSync(join(r.root, 'in', 'later'))), 'a new subdirectory');
    t.true(await r.seen(() => writeFileSync(join(r.root, 'in', 'later', 'x.yaml'), 'x: 1\n')), 'a file in it');
    t.true(
      await r.seen(() => {
        rmSync(sub, { recursive: true });
        mkdirSync(sub);
      }),
      'sub deleted and made again',
    );
    t.true(await r.seen(() => writeFileSync(join(sub, 'x.yaml'), 'x: 1\n')), 'a file in the new sub');
    t.true(
      await r.seen(() => {
        mkdirSync(`${sub}.new`);
        rmSync(sub, { recursive: true });
        renameSync(`${sub}.new`, sub);
      }),
      'sub replaced by rename',
    );
    t.true(await r.seen(() => writeFileSync(join(sub, 'x.yaml'), 'x: 2\n')), 'a file in the renamed sub');
  } finally {
    r.done();
  }
});

test('a directory input replaced by rename, and a file input whose directory is deleted and made again', async (t) => {
  const r = rig((root) => {
    mkdirSync(join(root, 'in'));
    mkdirSync(join(root, 'conf'));
    writeFileSync(join(root, 'conf', 'c.yaml'), 'c: 1\n');
    return [join(root, 'in'), join(root, 'conf', 'c.yaml')];
  });
  const input = join(r.root, 'in');
  const conf = join(r.root, 'conf');
  try {
    t.true(
      await r.seen(() => {
        mkdirSync(`${input}.new`);
        renameSync(input, `${input}.old`);
        renameSync(`${input}.new`, input);
      }),
      'input replaced',
    );
    t.true(await r.seen(() => writeFileSync(join(input, 'x.yaml'), 'x: 1\n')), 'a file in the new input');
    t.true(await r.seen(() => rmSync(conf, { recursive: true })), 'the file input and its directory deleted');
    t.true(await r.seen(() => mkdirSync(conf)), 'its directory made again');
    t.true(await r.seen(() => writeFileSync(join(conf, 'c.yaml'), 'c: 2\n')), 'the file written again');
    t.true(await r.seen(() => renameOver(join(conf, 'c.yaml'), 'c: 3\n')), 'and replaced by rename');
  } finally {
    r.done();
  }
});

test('inputs behind symlinks: a retargeted directory link, an edited link target, a ConfigMap ..data swap', async (t) => {
  const r = rig((root) => {
    for (const d of ['v1', 'v2', 'targets', 'cm/..2024_01']) mkdirSync(join(root, d), { recursive: true });
    symlinkSync('v1', join(root, 'cur'));
    writeFileSync(join(root, 'targets', 't.yaml'), 't: 1\n');
    symlinkSync(join(root, 'targets', 't.yaml'), join(root, 'link.yaml'));
    writeFileSync(join(root, 'cm', '..2024_01', 'cm.yaml'), 'cm: 1\n');
    symlinkSync('..2024_01', join(root, 'cm', '..data'));
    symlinkSync('..data/cm.yaml', join(root, 'cm', 'cm.yaml'));
    return [join(root, 'cur'), join(root, 'link.yaml'), join(root, 'cm', 'cm.yaml')];
  });
  const at = (...p: string[]) => join(r.root, ...p);
  try {
    t.true(
      await r.seen(() => {
        symlinkSync('v2', at('cur.tmp'));
        renameSync(at('cur.tmp'), at('cur'));
      }),
      'cur now points at v2',
    );
    t.true(await r.seen(() => writeFileSync(at('v2', 'x.yaml'), 'x: 1\n')), 'a file in v2');
    t.true(await r.seen(() => writeFileSync(at('targets', 't.yaml'), 't: 2\n')), 'the link target edited in place');
    // kubelet's atomic writer: a new timestamped directory, `..data` swapped to it, the old one removed.
    t.true(
      await r.seen(() => {
        mkdirSync(at('cm', '..2024_02'));
        writeFileSync(at('cm', '..2024_02', 'cm.yaml'), 'cm: 2\n');
        symlinkSync('..2024_02', at('cm', '..data_tmp'));
        renameSync(at('cm', '..data_tmp'), at('cm', '..data'));
        rmSync(at('cm', '..2024_01'), { recursive: true });
      }),
      'the ConfigMap swapped',
    );
    t.true(await r.seen(() => writeFileSync(at('cm', '..2024_02', 'cm.yaml'), 'cm: 3\n')), 'the new file edited');
  } finally {
    r.done();
  }
});

test('a storm of writes is reported in a few bursts, not once per file', async (t) => {
  const r = rig((root) => {
    for (let d = 0; d < 20; d++) {
      mkdirSync(join(root, 'in', `d${d}`), { recursive: true });
      for (let f = 0; f < 50; f++) writeFileSync(join(root, 'in', `d${d}`, `f${f}.yaml`), 'x: 1\n');
    }
    return [join(root, 'in')];
  });
  try {
    const before = r.reports();
    const now = new Date();
    let touched = 0;
    t.true(
      await r.seen(() => {
        for (const d of readdirSync(join(r.root, 'in'))) {
          for (const f of readdirSync(join(r.root, 'in', d))) {
            utimesSync(join(r.root, 'in', d, f), now, now);
            touched++;
          }
        }
      }),
    );
    await r.quiet();
    const reports = r.reports() - before;
    t.is(touched, 1000);
    t.true(reports <= 20, `${reports} reports for ${touched} files`);
  } finally {
    r.done();
  }
});

test('symlinks on the way: a parent directory link flipped, and link targets that go away and come back', async (t) => {
  const r = rig((root) => {
    for (const d of ['releases/v1', 'releases/v2', 'shared/t', 'data']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'releases', 'v1', 'app.yaml'), 'v: 1\n');
    writeFileSync(join(root, 'releases', 'v2', 'app.yaml'), 'v: 2\n');
    symlinkSync(join(root, 'releases', 'v1'), join(root, 'current'));
    writeFileSync(join(root, 'shared', 't', 'x.yaml'), 'x: 1\n');
    symlinkSync(join(root, 'shared', 't', 'x.yaml'), join(root, 'x.yaml'));
    symlinkSync(join(root, 'data'), join(root, 'in'));
    return [join(root, 'current', 'app.yaml'), join(root, 'x.yaml'), join(root, 'in')];
  });
  const at = (...p: string[]) => join(r.root, ...p);
  try {
    t.true(
      await r.seen(() => {
        symlinkSync(at('releases', 'v2'), at('current.tmp'));
        renameSync(at('current.tmp'), at('current'));
      }),
      'current flipped to v2',
    );
    t.true(await r.seen(() => writeFileSync(at('releases', 'v2', 'app.yaml'), 'v: 3\n')), 'v2/app.yaml edited');
    t.true(await r.seen(() => renameSync(at('shared', 't'), at('shared', 't.away'))), "x.yaml's target moved away");
    t.true(await r.seen(() => renameSync(at('shared', 't.away'), at('shared', 't'))), 'and back');
    t.true(await r.seen(() => writeFileSync(at('shared', 't', 'x.yaml'), 'x: 2\n')), 'the target edited after');
    t.true(await r.seen(() => renameSync(at('data'), at('data.away'))), "in's target moved away");
    t.true(await r.seen(() => renameSync(at('data.away'), at('data'))), 'and back');
    t.true(await r.seen(() => writeFileSync(at('data', 'y.yaml'), 'y: 1\n')), 'a file in it after');
  } finally {
    r.done();
  }
});

test('writes that keep coming are reported after they stop, or once per maxWaitMs, not once per debounce', async (t) => {
  const r = rig(
    (root) => {
      mkdirSync(join(root, 'in'));
      return [join(root, 'in')];
    },
    { debounceMs: 300, maxWaitMs: 60_000 },
  );
  try {
    await r.quiet();
    const before = r.reports();
    // About a second of writes, three debounce periods and more: a report per period would make three or four.
    for (let i = 0; i < 50; i++) {
      writeFileSync(join(r.root, 'in', `f${i}.yaml`), 'x: 1\n');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await r.quiet();
    // Gaps of 20 ms never reach the 300 ms debounce: one report (a stall of the machine could split it once).
    t.true(r.reports() - before >= 1);
    t.true(r.reports() - before <= 2, `${r.reports() - before} reports`);
  } finally {
    r.done();
  }
});
