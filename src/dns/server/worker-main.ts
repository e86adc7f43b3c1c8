/**
 * Entry point of a DNS worker process (`serve --workers N`): it receives the DNS options and a snapshot from the
 * primary, serves on the shared sockets once synced, and relays the primary's store events to its zone index as they come.
 */
import { ListenFailedError } from '../../errors.js';
import { EventRelay } from './replica.js';
import { DnsServer } from './server.js';
import type { FromWorker, ToWorker } from './workers.js';

const relay = new EventRelay();
let server: DnsServer | undefined;

process.on('message', async (message: ToWorker) => {
  switch (message.type) {
    case 'init':
      server = new DnsServer(relay, message.options);
      return;
    case 'synced': {
      server!.zone.setSynced(true);
      // The snapshot's messages are garbage now; collect them before serving so RSS shows what serving costs.
      (globalThis as { gc?: () => void }).gc?.();
      let listeners: Awaited<ReturnType<DnsServer['start']>>;
      try {
        listeners = await server!.start();
      } catch (err) {
        // An address that cannot be bound is the user's to fix: the primary reports it as the one-process server does,
        // then stops this worker. (Exiting here could be seen by the primary before the message is.)
        if (!(err instanceof ListenFailedError)) throw err;
        process.send!({ type: 'failed', message: err.message } satisfies FromWorker);
        return;
      }
      process.send!({
        type: 'ready',
        listeners: listeners.map((l) => ({ transport: l.transport, address: l.address })),
      });
      return;
    }
    case 'events':
      relay.deliver(message.events);
      process.send!({ type: 'applied', seq: message.seq });
      return;
    case 'metrics':
      process.send!({ type: 'metrics', id: message.id, state: server?.metrics.state() });
      return;
    case 'stop':
      // Closing waits on the sockets; a socket that never finishes closing must not keep the worker (and with it the
      // primary) alive.
      setTimeout(() => process.exit(0), 2000).unref();
      await server?.stop();
      process.exit(0);
  }
});

// Messages that arrive before a listener exists are lost: only now may the primary send the snapshot.
process.send!({ type: 'hello' });
