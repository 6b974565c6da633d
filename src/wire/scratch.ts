// The zeroed buffer a view points at while it holds no valid header (before its first
// reset(), and after a reset() that returned a drop reason). Accessors then read zeros
// and setters scribble here, never on a frame in the ring; every failed reset() zeroes it
// again. 128 bytes cover the furthest fixed field of every view (options reach 60), so no
// DataView access can go out of range either.

export const SCRATCH = new Uint8Array(128);
export const SCRATCH_DV = new DataView(SCRATCH.buffer, SCRATCH.byteOffset, SCRATCH.byteLength);
