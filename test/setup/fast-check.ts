/**
 * Loaded into every test worker (package.json `ava.nodeArguments`). fast-check's default size draws short arrays
 * (about ten elements whatever `maxLength` says), too short for a model-based property to reach what breaks under
 * load: a hash table's growth and its deletes inside long probe runs, or two flows sharing a reply tuple. Medium
 * sizes reach them; a property that needs longer still says `size: 'max'` where it draws.
 */
import fc from 'fast-check';

fc.configureGlobal({ baseSize: 'medium' });
