// Every peer the bench knows, in table order, by id.

import type { Peer } from '../types';
import { haproxyPeer } from './haproxy';
import { nftDnatPeer } from './nft-dnat';
import { nftDrPeer } from './nft-dr';
import { nonePeer } from './none';
import { TSVS_VARIANTS, tsvsPeer } from './tsvs';

export const ALL_PEERS: readonly Peer[] = [
  ...TSVS_VARIANTS.map(tsvsPeer),
  nftDrPeer,
  nftDnatPeer,
  haproxyPeer,
  nonePeer,
];

export const PEER_IDS: readonly string[] = ALL_PEERS.map((p) => p.id);

export function peerById(id: string): Peer | undefined {
  return ALL_PEERS.find((p) => p.id === id);
}
