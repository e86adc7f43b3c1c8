/** The cluster DNS resolver: pure answers from the zone index (see resolve.ts for the rcode mapping). */
export { formatRdata, formatRr } from './format.js';
export { QCLASS, QTYPE, qclassName, qclassNumber, qtypeName, qtypeNumber } from './qtype.js';
export { authoritativeZones, REVERSE_ZONES, resolve } from './resolve.js';
export { type TransferOptions, zoneTransfer } from './transfer.js';
export type { Question, Rcode, ResolveContext, ResolveResult, Rr, RrType, UpstreamWork } from './types.js';
export { exportZoneFiles, type ZoneFileExport } from './zone-file.js';
