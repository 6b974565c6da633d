// PacketSocket: one AF_PACKET socket bound to one interface with protocol ETH_P_ALL
// (taps run before tc/nft ingress, so an nft netdev drop of the kernel's copy cannot starve
// us), a TPACKET_V3 mmap'd RX ring and batched sendmmsg TX. Syscalls and memory only:
// every choice (sizes, filter program, fanout mode) comes from the TypeScript side
// (src/io/afpacket.ts), which also validates the arguments; here only cheap guards remain.
//
// Two RX ring formats, chosen by ringVersion; both describe frames to JS the same way, so the
// pipeline does not know which one runs:
//   3 (TPACKET_V3): the kernel packs variable-length frames into blocks and hands a block
//     over when it is full or its retire timer fires (>= 1 ms). Few wake-ups under load, but
//     at low rates every frame waits for the timer (lab-notes pitfall 6).
//   2 (TPACKET_V2): fixed-size frame slots, each with its own status word; the kernel wakes
//     us for every frame. nextBlock() then takes every consecutive ready frame (up to
//     maxBatch) as one batch: at low rates a batch is one frame handed over at once, under
//     load the frames that queued while we worked form a large batch.
//
// RX (V3). The ring is one mmap of blockCount blocks of blockSize bytes, handed to JS as ONE
// external ArrayBuffer (zero copy). The kernel fills a block with variable-length frames and
// passes it to us (TP_STATUS_USER) when it is full or when its retire timer fires.
// nextBlock(descs) describes every frame of the next ready block in the caller's Uint32Array,
// kDescStride words per frame (layout below), and returns the frame count; the block stays
// ours (the frames stay valid, and may be sent from in place) until releaseBlock(). Several
// blocks may be held at once; they are released oldest first.
//
// RX (V2). The same calls work on batches of frame slots instead of blocks: nextBlock()
// scans from the oldest slot not yet handed out while slots are TP_STATUS_USER, describes
// them and remembers where the batch ends; releaseBlock() gives the slots of the oldest held
// batch back. At most kMaxHeldBatches batches may be held at once.
//
// Descriptor words per frame (all uint32):
//   0 offset in the ring of the frame's first byte (Ethernet destination MAC)
//   1 snaplen: bytes present in the ring
//   2 wire length (larger than snaplen only if truncated)
//   3 tp_status (TP_STATUS_CSUMNOTREADY, TP_STATUS_VLAN_VALID, TP_STATUS_CSUM_VALID, ...)
//   4 vlan tci (low 16) | vlan tpid (high 16); meaningful when TP_STATUS_VLAN_VALID
//   5 vnet flags (bits 0-7) | gso_type (8-15) | hdr_len (16-31)      } virtio_net_hdr,
//   6 gso_size (low 16) | csum_start (high 16)                        } zero unless the
//   7 csum_offset (low 16); high 16 reserved (0)                      } socket has vnetHdr
// With vnetHdr the kernel also leaves the 10-byte virtio_net_hdr in the ring right before the
// frame (at offset - 10), which is what TX expects: a received frame is sent on unchanged.
//
// TX. sendBatch(buf, descs, start, count): descs holds (offset, len) pairs into buf (an
// ArrayBuffer or a typed array: the ring itself or a TX buffer). With vnetHdr each frame
// must be preceded by its 10-byte virtio_net_hdr at offset - 10 (zeros = no offload). One
// sendmmsg per up to kMaxBatch frames (or, with txMethod 1, one send() per frame: a
// measured alternative, see bench/rx-tuning.ts). Returns the number of frames the kernel took, from
// `start`; when the very first frame fails with a data-path errno (EAGAIN, ENOBUFS,
// EMSGSIZE, EINVAL, ...) it returns -errno instead, so the caller counts and skips it
// without an exception. Errors that mean the socket itself is unusable throw.
//
// Readiness. start(cb) registers the fd with libuv (uv_poll, level-triggered, readable);
// cb(err?) runs on the loop thread when a block may be ready; the caller drains every
// ready block. While started the socket is kept alive and keeps the loop alive (unless
// unref()); stop() and close() undo both, so an idle or stopped daemon uses no CPU. That
// plumbing is FdPoller (native/fd-poller.h); a poll error reports the socket's SO_ERROR.
#include "afpacket.h"
#include "errors.h"
#include "fd-poller.h"
#include "ifinfo.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace tsvs {

namespace {

// struct virtio_net_hdr of <linux/virtio_net.h>, which C++ cannot include (a member is
// named `class`). Little-endian fields on a packet socket of a little-endian host.
struct VnetHdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(VnetHdr) == 10, "virtio_net_hdr is 10 bytes");

constexpr uint32_t kDescStride = 8;     // uint32 words per RX frame descriptor
constexpr uint32_t kTxDescStride = 2;   // (offset, len)
constexpr uint32_t kVnetHdrLen = sizeof(VnetHdr);  // 10
constexpr uint32_t kMaxBatch = 1024;    // the kernel caps sendmmsg's vlen at UIO_MAXIOV
constexpr uint32_t kMaxHeldBatches = 64;  // V2: batches handed out and not yet released

// The ring mapping is shared by the socket and the ArrayBuffer that exposes it: it is
// unmapped when both have let go (socket closed and buffer detached or collected), so a JS
// view that outlives the socket never points at unmapped memory. Both owners live on the
// JS thread, so a plain counter suffices.
struct RingMap {
  uint8_t* base;
  size_t len;
  int refs;
  void Unref() {
    if (--refs == 0) {
      munmap(base, len);
      delete this;
    }
  }
};

void ReleaseRingBuffer(Napi::Env, void*, RingMap* ring) { ring->Unref(); }

uint32_t OptU32(Napi::Object o, const char* key, uint32_t def) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : def;
}

bool OptBool(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

// Errnos that concern one frame or momentary back-pressure; sendBatch returns them.
bool IsDataPathErrno(int err) {
  switch (err) {
    case EAGAIN:
    case ENOBUFS:
    case ENOMEM:
    case EMSGSIZE:
    case EINVAL:
    case ENETDOWN:
    case ENXIO:
    case ENODEV:
    case ENETUNREACH:
      return true;
    default:
      return false;
  }
}

}  // namespace

class PacketSocket : public FdPoller<PacketSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    std::vector<PropertyDescriptor> props = {
        InstanceMethod<&PacketSocket::Ring>("ring"),
        InstanceMethod<&PacketSocket::NextBlock>("nextBlock"),
        InstanceMethod<&PacketSocket::ReleaseBlock>("releaseBlock"),
        InstanceMethod<&PacketSocket::SendBatch>("sendBatch"),
        InstanceMethod<&PacketSocket::AttachFilter>("attachFilter"),
        InstanceMethod<&PacketSocket::DetachFilter>("detachFilter"),
        InstanceMethod<&PacketSocket::JoinFanout>("joinFanout"),
        InstanceMethod<&PacketSocket::SetFanoutProgram>("setFanoutProgram"),
        InstanceMethod<&PacketSocket::Stats>("stats"),
        InstanceMethod<&PacketSocket::Close>("close"),
        InstanceAccessor<&PacketSocket::GetFd>("fd"),
        InstanceAccessor<&PacketSocket::GetIfindex>("ifindex"),
        InstanceAccessor<&PacketSocket::GetHeldBlocks>("heldBlocks"),
    };
    AddPollMethods(&props);  // start, stop, ref, unref
    return DefineClass(env, "PacketSocket", props);
  }

  // new PacketSocket(ifname, { blockSize, blockCount, frameSize, retireMs, reserve,
  //   vnetHdr, ignoreOutgoing, qdiscBypass, rcvbuf, sndbuf, filter? })
  explicit PacketSocket(const Napi::CallbackInfo& info) : FdPoller<PacketSocket>(info, "poll") {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) {
      Napi::TypeError::New(env, "PacketSocket(ifname: string, options: object)").ThrowAsJavaScriptException();
      return;
    }
    std::string ifname = info[0].As<Napi::String>().Utf8Value();
    Napi::Object o = info[1].As<Napi::Object>();
    blockSize_ = OptU32(o, "blockSize", 1u << 18);
    blockCount_ = OptU32(o, "blockCount", 64);
    uint32_t frameSize = OptU32(o, "frameSize", 2048);
    uint32_t retireMs = OptU32(o, "retireMs", 1);
    uint32_t reserve = OptU32(o, "reserve", 0);
    vnet_ = OptBool(o, "vnetHdr");
    uint32_t rcvbuf = OptU32(o, "rcvbuf", 0);
    uint32_t sndbuf = OptU32(o, "sndbuf", 0);
    v2_ = OptU32(o, "ringVersion", 3) == 2;
    maxBatch_ = OptU32(o, "maxBatch", 0xffffffffu);
    if (maxBatch_ == 0) maxBatch_ = 1;
    txSend_ = OptU32(o, "txMethod", 0) == 1;
    frameSize_ = frameSize;
    // V2 slots need not fill a block: the kernel uses blockSize / frameSize slots per block.
    if (blockSize_ == 0 || blockCount_ == 0 || frameSize == 0 || (!v2_ && blockSize_ % frameSize != 0) || frameSize > blockSize_ ||
        static_cast<uint64_t>(blockSize_) * blockCount_ > (1ull << 40)) {
      Napi::RangeError::New(env, "PacketSocket: bad ring geometry").ThrowAsJavaScriptException();
      return;
    }
    ifreq ifr;
    if (!FillIfreq(env, ifname, &ifr)) return;

    // Protocol 0: the socket receives nothing until bind(), so no frame reaches the ring
    // before the filter is attached.
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      Fail(env, "socket(AF_PACKET)");
      return;
    }
    if (ioctl(fd_, SIOCGIFINDEX, &ifr) != 0) {
      Fail(env, "ioctl(SIOCGIFINDEX)");
      return;
    }
    ifindex_ = ifr.ifr_ifindex;

    int v = v2_ ? TPACKET_V2 : TPACKET_V3;
    if (!SetOpt(env, SOL_PACKET, PACKET_VERSION, v, "setsockopt(PACKET_VERSION)")) return;
    // Must precede the ring: the kernel refuses PACKET_VNET_HDR (EBUSY) once a ring exists.
    if (vnet_ && !SetOpt(env, SOL_PACKET, PACKET_VNET_HDR, 1, "setsockopt(PACKET_VNET_HDR)")) return;
    if (reserve && !SetOpt(env, SOL_PACKET, PACKET_RESERVE, static_cast<int>(reserve), "setsockopt(PACKET_RESERVE)")) return;
    if (OptBool(o, "ignoreOutgoing") &&
        !SetOpt(env, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "setsockopt(PACKET_IGNORE_OUTGOING)"))
      return;
    if (OptBool(o, "qdiscBypass") &&
        !SetOpt(env, SOL_PACKET, PACKET_QDISC_BYPASS, 1, "setsockopt(PACKET_QDISC_BYPASS)"))
      return;
    if (rcvbuf && !SetBuf(env, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf, "setsockopt(SO_RCVBUF)")) return;
    if (sndbuf && !SetBuf(env, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf, "setsockopt(SO_SNDBUF)")) return;

    tpacket_req3 req;
    std::memset(&req, 0, sizeof(req));
    req.tp_block_size = blockSize_;
    req.tp_block_nr = blockCount_;
    req.tp_frame_size = frameSize;
    req.tp_frame_nr = (blockSize_ / frameSize) * blockCount_;
    req.tp_retire_blk_tov = retireMs;
    req.tp_sizeof_priv = 0;
    req.tp_feature_req_word = 0;
    framesPerBlock_ = blockSize_ / frameSize;
    frameCount_ = req.tp_frame_nr;
    // V2 takes the plain tpacket_req, which is the first four fields of tpacket_req3.
    socklen_t reqLen = v2_ ? sizeof(tpacket_req) : sizeof(req);
    if (setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req, reqLen) != 0) {
      Fail(env, "setsockopt(PACKET_RX_RING)");
      return;
    }

    size_t len = static_cast<size_t>(blockSize_) * blockCount_;
    // The kernel maps all of its ring pages at mmap time; they are unswappable kernel pages.
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) {
      Fail(env, "mmap(PACKET_RX_RING)");
      return;
    }
    ring_ = new RingMap{static_cast<uint8_t*>(p), len, 1};

    Napi::Value filter = o.Get("filter");
    if (filter.IsTypedArray() && !SetFilter(env, filter)) return;

    sockaddr_ll sll;
    std::memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex_;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) {
      Fail(env, "bind(AF_PACKET)");
      return;
    }

    msgs_.resize(kMaxBatch);
    iovs_.resize(kMaxBatch);
    std::memset(msgs_.data(), 0, sizeof(mmsghdr) * kMaxBatch);
    for (uint32_t i = 0; i < kMaxBatch; i++) {
      msgs_[i].msg_hdr.msg_iov = &iovs_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
    }

    ring_->refs++;  // the ArrayBuffer's share
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, ring_->base, ring_->len, ReleaseRingBuffer, ring_);
    ringRef_ = Napi::Persistent(ab);
  }

  ~PacketSocket() override {
    // Finalizer context: release OS resources only, touch no JS value.
    CloseNative();
  }

 private:
  // --- setup helpers -------------------------------------------------------------

  void Fail(Napi::Env env, const char* syscall) {
    int err = errno;
    CloseNative();
    ThrowErrno(env, err, syscall);
  }

  bool SetOpt(Napi::Env env, int level, int opt, int value, const char* name) {
    if (setsockopt(fd_, level, opt, &value, sizeof(value)) == 0) return true;
    Fail(env, name);
    return false;
  }

  // The FORCE variant (CAP_NET_ADMIN) is not capped by net.core.[rw]mem_max, which cannot
  // be raised inside a child namespace; without the capability fall back to the capped one.
  bool SetBuf(Napi::Env env, int forceOpt, int opt, uint32_t bytes, const char* name) {
    int v = static_cast<int>(bytes > 0x7fffffffu / 2 ? 0x7fffffffu / 2 : bytes);
    if (setsockopt(fd_, SOL_SOCKET, forceOpt, &v, sizeof(v)) == 0) return true;
    if (errno != EPERM) {
      Fail(env, name);
      return false;
    }
    return SetOpt(env, SOL_SOCKET, opt, v, name);
  }

  // filter: Uint32Array of 4 words per instruction (code, jt, jf, k). The same packing
  // serves the socket filter (SO_ATTACH_FILTER) and a fanout group's program
  // (PACKET_FANOUT_DATA); `level`/`opt`/`what` say which.
  bool SetFilter(Napi::Env env, Napi::Value value, int level = SOL_SOCKET, int opt = SO_ATTACH_FILTER,
                 const char* what = "setsockopt(SO_ATTACH_FILTER)") {
    if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
      Napi::TypeError::New(env, "filter must be a Uint32Array of (code, jt, jf, k) words").ThrowAsJavaScriptException();
      return false;
    }
    Napi::Uint32Array words = value.As<Napi::Uint32Array>();
    size_t n = words.ElementLength() / 4;
    if (n == 0 || n > BPF_MAXINSNS || words.ElementLength() % 4 != 0) {
      Napi::RangeError::New(env, "filter must hold 1 to 4096 instructions of 4 words each").ThrowAsJavaScriptException();
      return false;
    }
    std::vector<sock_filter> prog(n);
    const uint32_t* w = words.Data();
    for (size_t i = 0; i < n; i++) {
      if (w[4 * i] > 0xffff || w[4 * i + 1] > 0xff || w[4 * i + 2] > 0xff) {
        Napi::RangeError::New(env, "filter instruction " + std::to_string(i) + " has a field out of range")
            .ThrowAsJavaScriptException();
        return false;
      }
      prog[i].code = static_cast<uint16_t>(w[4 * i]);
      prog[i].jt = static_cast<uint8_t>(w[4 * i + 1]);
      prog[i].jf = static_cast<uint8_t>(w[4 * i + 2]);
      prog[i].k = w[4 * i + 3];
    }
    sock_fprog fprog;
    fprog.len = static_cast<unsigned short>(n);
    fprog.filter = prog.data();
    if (setsockopt(fd_, level, opt, &fprog, sizeof(fprog)) == 0) return true;
    ThrowErrno(env, errno, what);
    return false;
  }

  // Releases the poll handle, the socket and our share of the ring. No JS calls.
  void CloseNative() {
    ClosePollHandle();
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
    if (ring_) {
      ring_->Unref();
      ring_ = nullptr;
    }
  }

  bool CheckOpen(Napi::Env env, const char* what) {
    if (fd_ >= 0) return true;
    ThrowErrno(env, EBADF, what);
    return false;
  }

  // --- RX --------------------------------------------------------------------------

  Napi::Value Ring(const Napi::CallbackInfo& info) {
    if (ringRef_.IsEmpty()) {
      ThrowErrno(info.Env(), EBADF, "ring");
      return info.Env().Undefined();
    }
    return ringRef_.Value();
  }

  // nextBlock(descs: Uint32Array): number of frames in the next ready block (now held),
  // or 0 when no block is ready.
  Napi::Value NextBlock(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "nextBlock")) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
      Napi::TypeError::New(env, "nextBlock(descs: Uint32Array)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint32Array descs = info[0].As<Napi::Uint32Array>();
    if (v2_) return Napi::Number::New(env, NextFramesV2(descs.Data(), descs.ElementLength() / kDescStride));
    if (readSeq_ - releaseSeq_ >= blockCount_) return Napi::Number::New(env, 0);  // all held
    uint32_t index = static_cast<uint32_t>(readSeq_ % blockCount_);
    size_t blockBase = static_cast<size_t>(index) * blockSize_;
    uint8_t* blk = ring_->base + blockBase;
    auto* bd = reinterpret_cast<tpacket_block_desc*>(blk);
    uint32_t status = __atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
    if (!(status & TP_STATUS_USER)) return Napi::Number::New(env, 0);
    uint32_t n = bd->hdr.bh1.num_pkts;
    if (n == 0) {
      // The kernel does not retire empty blocks; should one appear, hand it straight back
      // when that keeps the oldest-first order, and report nothing.
      if (readSeq_ == releaseSeq_) {
        __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        readSeq_++;
        releaseSeq_++;
      }
      return Napi::Number::New(env, 0);
    }
    if (static_cast<size_t>(n) * kDescStride > descs.ElementLength()) {
      Napi::RangeError::New(env, "nextBlock: descriptor array too small for " + std::to_string(n) + " frames")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t* d = descs.Data();
    uint32_t off = bd->hdr.bh1.offset_to_first_pkt;
    for (uint32_t i = 0; i < n; i++, d += kDescStride) {
      if (off + sizeof(tpacket3_hdr) > blockSize_) {  // a corrupt block: describe what is sane
        n = i;
        break;
      }
      auto* h = reinterpret_cast<tpacket3_hdr*>(blk + off);
      d[0] = static_cast<uint32_t>(blockBase + off + h->tp_mac);
      d[1] = h->tp_snaplen;
      d[2] = h->tp_len;
      d[3] = h->tp_status;
      d[4] = static_cast<uint32_t>(h->hv1.tp_vlan_tci) | (static_cast<uint32_t>(h->hv1.tp_vlan_tpid) << 16);
      DescribeVnet(d, blk + off + h->tp_mac, h->tp_mac);
      off += h->tp_next_offset;
    }
    readSeq_++;
    return Napi::Number::New(env, n);
  }

  uint8_t* FrameV2(uint64_t seq) const {
    uint32_t i = static_cast<uint32_t>(seq % frameCount_);
    return ring_->base + static_cast<size_t>(i / framesPerBlock_) * blockSize_ +
           static_cast<size_t>(i % framesPerBlock_) * frameSize_;
  }

  // V2: describes every consecutive ready slot from readSeq_ on, at most maxBatch_ and `room`,
  // and holds them as one batch. Returns the count (0: nothing ready, or too much held).
  uint32_t NextFramesV2(uint32_t* d, size_t room) {
    if (heldBatches_ == kMaxHeldBatches) return 0;
    uint32_t limit = maxBatch_ < room ? maxBatch_ : static_cast<uint32_t>(room);
    uint64_t free = frameCount_ - (readSeq_ - releaseSeq_);
    if (limit > free) limit = static_cast<uint32_t>(free);
    uint32_t n = 0;
    for (; n < limit; n++, d += kDescStride) {
      uint8_t* f = FrameV2(readSeq_ + n);
      auto* h = reinterpret_cast<tpacket2_hdr*>(f);
      uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
      if (!(status & TP_STATUS_USER)) break;
      size_t base = static_cast<size_t>(f - ring_->base);
      d[0] = static_cast<uint32_t>(base + h->tp_mac);
      d[1] = h->tp_snaplen;
      d[2] = h->tp_len;
      d[3] = status;
      d[4] = static_cast<uint32_t>(h->tp_vlan_tci) | (static_cast<uint32_t>(h->tp_vlan_tpid) << 16);
      DescribeVnet(d, f + h->tp_mac, h->tp_mac);
    }
    if (n == 0) return 0;
    readSeq_ += n;
    batchEnd_[(releaseBatch_ + heldBatches_) % kMaxHeldBatches] = readSeq_;
    heldBatches_++;
    return n;
  }

  // Words 5-7 of a descriptor from the virtio_net_hdr right before the frame at `mac`.
  void DescribeVnet(uint32_t* d, const uint8_t* mac, uint32_t room) const {
    if (vnet_ && room >= kVnetHdrLen) {
      VnetHdr vh;
      std::memcpy(&vh, mac - kVnetHdrLen, sizeof(vh));
      d[5] = static_cast<uint32_t>(vh.flags) | (static_cast<uint32_t>(vh.gso_type) << 8) |
             (static_cast<uint32_t>(vh.hdr_len) << 16);
      d[6] = static_cast<uint32_t>(vh.gso_size) | (static_cast<uint32_t>(vh.csum_start) << 16);
      d[7] = vh.csum_offset;
    } else {
      d[5] = d[6] = d[7] = 0;
    }
  }

  uint64_t Held() const { return v2_ ? heldBatches_ : readSeq_ - releaseSeq_; }

  // releaseBlock(): hands the oldest held block (V2: batch) back to the kernel; returns how
  // many are still held (0 when none was held).
  Napi::Value ReleaseBlock(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (v2_) {
      if (fd_ >= 0 && heldBatches_ > 0) {
        uint64_t end = batchEnd_[releaseBatch_];
        for (; releaseSeq_ < end; releaseSeq_++)
          __atomic_store_n(&reinterpret_cast<tpacket2_hdr*>(FrameV2(releaseSeq_))->tp_status, TP_STATUS_KERNEL,
                           __ATOMIC_RELEASE);
        releaseBatch_ = (releaseBatch_ + 1) % kMaxHeldBatches;
        heldBatches_--;
      }
      return Napi::Number::New(env, static_cast<double>(heldBatches_));
    }
    if (fd_ >= 0 && releaseSeq_ != readSeq_) {
      auto* bd = reinterpret_cast<tpacket_block_desc*>(
          ring_->base + static_cast<size_t>(releaseSeq_ % blockCount_) * blockSize_);
      __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      releaseSeq_++;
    }
    return Napi::Number::New(env, static_cast<double>(readSeq_ - releaseSeq_));
  }

  // --- TX --------------------------------------------------------------------------

  // sendBatch(buf, descs: Uint32Array of (offset, len), start, count): frames sent, or
  // -errno when the first one failed with a data-path error.
  Napi::Value SendBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "sendmmsg")) return env.Undefined();
    uint8_t* data = nullptr;
    size_t dataLen = 0;
    if (info.Length() < 4 || !info[2].IsNumber() || !info[3].IsNumber() || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
      Napi::TypeError::New(env, "sendBatch(buf, descs: Uint32Array, start: number, count: number)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info[0].IsArrayBuffer()) {
      Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
      data = static_cast<uint8_t*>(ab.Data());
      dataLen = ab.ByteLength();
    } else if (info[0].IsTypedArray()) {
      Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
      data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      dataLen = ta.ByteLength();
    } else {
      Napi::TypeError::New(env, "sendBatch: buf must be an ArrayBuffer or a typed array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint32Array descs = info[1].As<Napi::Uint32Array>();
    uint32_t start = info[2].As<Napi::Number>().Uint32Value();
    uint32_t count = info[3].As<Napi::Number>().Uint32Value();
    if ((static_cast<uint64_t>(start) + count) * kTxDescStride > descs.ElementLength()) {
      Napi::RangeError::New(env, "sendBatch: start + count exceeds the descriptors").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const uint32_t* d = descs.Data() + static_cast<size_t>(start) * kTxDescStride;
    const uint32_t hdr = vnet_ ? kVnetHdrLen : 0;
    uint32_t sent = 0;
    while (sent < count) {
      uint32_t k = count - sent < kMaxBatch ? count - sent : kMaxBatch;
      for (uint32_t j = 0; j < k; j++) {
        uint64_t off = d[(sent + j) * kTxDescStride];
        uint64_t len = d[(sent + j) * kTxDescStride + 1];
        // Bounds are checked here: a bad offset must never put process memory on the wire.
        if (off < hdr || len == 0 || off + len > dataLen) {
          Napi::RangeError::New(env, "sendBatch: descriptor " + std::to_string(start + sent + j) +
                                         " lies outside the buffer" + (hdr ? " (or leaves no room for the vnet header)" : ""))
              .ThrowAsJavaScriptException();
          return env.Undefined();
        }
        iovs_[j].iov_base = data + off - hdr;
        iovs_[j].iov_len = len + hdr;
      }
      int r = txSend_ ? SendEach(k) : sendmmsg(fd_, msgs_.data(), k, MSG_DONTWAIT);
      if (r < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (sent > 0) break;  // report progress now; the failing frame fails again next call
        if (IsDataPathErrno(err)) return Napi::Number::New(env, -err);
        ThrowErrno(env, err, "sendmmsg");
        return env.Undefined();
      }
      sent += static_cast<uint32_t>(r);
      if (static_cast<uint32_t>(r) < k) break;
    }
    return Napi::Number::New(env, sent);
  }

  // One send() per prepared iovec: sendmmsg's contract (frames sent, or -1 with errno when
  // the first one failed).
  int SendEach(uint32_t k) {
    for (uint32_t j = 0; j < k; j++) {
      if (send(fd_, iovs_[j].iov_base, iovs_[j].iov_len, MSG_DONTWAIT) < 0) return j > 0 ? static_cast<int>(j) : -1;
    }
    return static_cast<int>(k);
  }

  // --- socket options after bind ------------------------------------------------------

  Napi::Value AttachFilter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "setsockopt(SO_ATTACH_FILTER)")) return env.Undefined();
    SetFilter(env, info.Length() > 0 ? info[0] : env.Undefined());
    return env.Undefined();
  }

  Napi::Value DetachFilter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "setsockopt(SO_DETACH_FILTER)")) return env.Undefined();
    int dummy = 0;
    if (setsockopt(fd_, SOL_SOCKET, SO_DETACH_FILTER, &dummy, sizeof(dummy)) != 0 && errno != ENOENT)
      ThrowErrno(env, errno, "setsockopt(SO_DETACH_FILTER)");
    return env.Undefined();
  }

  // joinFanout(groupId, typeAndFlags): PACKET_FANOUT = id | (type | flags) << 16.
  Napi::Value JoinFanout(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "setsockopt(PACKET_FANOUT)")) return env.Undefined();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "joinFanout(group: number, typeAndFlags: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t group = info[0].As<Napi::Number>().Uint32Value();
    uint32_t mode = info[1].As<Napi::Number>().Uint32Value();
    int v = static_cast<int>((group & 0xffff) | ((mode & 0xffff) << 16));
    if (setsockopt(fd_, SOL_PACKET, PACKET_FANOUT, &v, sizeof(v)) != 0)
      ThrowErrno(env, errno, "setsockopt(PACKET_FANOUT)");
    return env.Undefined();
  }

  // setFanoutProgram(words): the classic BPF program of a PACKET_FANOUT_CBPF group
  // (PACKET_FANOUT_DATA). Its return value modulo the group size picks the socket.
  Napi::Value SetFanoutProgram(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "setsockopt(PACKET_FANOUT_DATA)")) return env.Undefined();
    SetFilter(env, info.Length() > 0 ? info[0] : env.Undefined(), SOL_PACKET, PACKET_FANOUT_DATA,
              "setsockopt(PACKET_FANOUT_DATA)");
    return env.Undefined();
  }

  // stats(): PACKET_STATISTICS since the previous call (the kernel resets on read).
  // packets counts every frame that matched, including the dropped ones.
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "getsockopt(PACKET_STATISTICS)")) return env.Undefined();
    tpacket_stats_v3 st;
    std::memset(&st, 0, sizeof(st));
    socklen_t len = sizeof(st);
    if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) {
      ThrowErrno(env, errno, "getsockopt(PACKET_STATISTICS)");
      return env.Undefined();
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("packets", Napi::Number::New(env, st.tp_packets));
    o.Set("drops", Napi::Number::New(env, st.tp_drops));
    o.Set("freezeQueueCount", Napi::Number::New(env, st.tp_freeze_q_cnt));
    return o;
  }

  // --- readiness -------------------------------------------------------------------

  int PollFd() const override { return fd_; }

  // libuv reports POLLERR as UV_EBADF and has stopped the handle; the socket's own error
  // (e.g. ENETDOWN when the interface went down) is more useful.
  int PollErrno(int uvErrno) const override {
    int soerr = 0;
    socklen_t l = sizeof(soerr);
    if (fd_ >= 0 && getsockopt(fd_, SOL_SOCKET, SO_ERROR, &soerr, &l) == 0 && soerr != 0) return soerr;
    return uvErrno;
  }

  // close(): stops polling, detaches the ring ArrayBuffer (views of it become empty rather
  // than dangling), closes the socket. Idempotent.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    StopPolling();
    if (!ringRef_.IsEmpty()) {
      Napi::ArrayBuffer ab = ringRef_.Value();
      if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
      ringRef_.Reset();
    }
    CloseNative();
    return info.Env().Undefined();
  }

  Napi::Value GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
  Napi::Value GetIfindex(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ifindex_); }
  Napi::Value GetHeldBlocks(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(Held()));
  }

  int fd_ = -1;
  int ifindex_ = 0;
  bool vnet_ = false;
  uint32_t blockSize_ = 0;
  uint32_t blockCount_ = 0;
  uint64_t readSeq_ = 0;     // blocks (V2: frame slots) handed to JS so far
  uint64_t releaseSeq_ = 0;  // blocks (V2: frame slots) given back so far (oldest first)
  bool v2_ = false;          // TPACKET_V2 ring of fixed frame slots
  bool txSend_ = false;      // TX with one send() per frame instead of sendmmsg
  uint32_t maxBatch_ = 0;    // V2: most frames nextBlock() hands out at once
  uint32_t frameSize_ = 0;
  uint32_t framesPerBlock_ = 0;
  uint32_t frameCount_ = 0;
  uint64_t batchEnd_[kMaxHeldBatches] = {};  // V2: readSeq_ at the end of each held batch
  uint32_t releaseBatch_ = 0;                // V2: index of the oldest held batch
  uint32_t heldBatches_ = 0;
  RingMap* ring_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> ringRef_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
};

void InitAfPacket(Napi::Env env, Napi::Object exports) {
  exports.Set("PacketSocket", PacketSocket::Define(env));
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("descStride", Napi::Number::New(env, kDescStride));
  layout.Set("txDescStride", Napi::Number::New(env, kTxDescStride));
  layout.Set("vnetHdrLen", Napi::Number::New(env, kVnetHdrLen));
  layout.Set("maxTxBatch", Napi::Number::New(env, kMaxBatch));
  layout.Set("blockHeaderLen", Napi::Number::New(env, sizeof(tpacket_block_desc)));
  layout.Set("frameHeaderLen", Napi::Number::New(env, TPACKET3_HDRLEN));
  layout.Set("frameHeaderLenV2", Napi::Number::New(env, TPACKET2_HDRLEN));
  exports.Set("afpacketLayout", layout);
}

}  // namespace tsvs
