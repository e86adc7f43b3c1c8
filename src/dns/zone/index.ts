/** The zone index that follows the store for cluster DNS. */
export {
  endpointName,
  NO_PORTS,
  type PortRecord,
  type ServiceKind,
  type ServiceRecord,
  type SliceRecord,
} from './projections.js';
export { ZoneIndex, type ZoneIndexInit } from './zone-index.js';
