// TunDevice: a layer-3 TUN device (/dev/net/tun, IFF_TUN | IFF_NO_PI, optionally
// IFF_MULTI_QUEUE) as a capture source. Syscalls and memory only; the policy (names,
// sizes, which MAC to write) comes from src/io/tun.ts, which validates the arguments.
//
// Open. new TunDevice(name, { mtu, multiQueue }) opens /dev/net/tun, asks for the device
// with TUNSETIFF (an empty name lets the kernel pick tunN), sets its MTU (SIOCSIFMTU) and
// brings it up (SIOCSIFFLAGS |= IFF_UP). The fd is non-blocking. IFF_MULTI_QUEUE is asked
// only when requested AND offered (TUNGETFEATURES); `multiQueue` says what we got: each
// further TunDevice opened on the same name with multiQueue is one more queue (one per
// worker). With { vnetHdr: true } the device is opened with IFF_VNET_HDR and TUNSETOFFLOAD
// (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN): the kernel then hands us TCP
// super-packets of up to 64 KB with partial checksums, each behind a virtio_net_hdr, which
// we carry to an AF_PACKET TX socket with vnet headers (the device on IF segments them).
// Without it the kernel completes checksums and segments before the device.
//
// RX. readBatch(arena, descs, eth, slotSize, maxFrames): read() until EAGAIN or maxFrames,
// packet i into arena slot i (slotSize bytes each) at kHeadroom (24) bytes into the slot.
// The 24 bytes in front are a 10-byte virtio_net_hdr (zeroed, or with vnetHdr the kernel's,
// read there by readv, its csum_start and hdr_len moved by 14 to count the Ethernet header
// as AF_PACKET's do) and a copy of the 14-byte Ethernet header `eth` whose ethertype is set
// from the IP version nibble. descs get the same 8 words per frame as AF_PACKET RX
// (native/afpacket.cc): offset of the Ethernet header, snaplen, length, status
// (TP_STATUS_USER), 0, then the vnet words as AF_PACKET fills them. One crossing per batch.
//
// TX. writeBatch(buf, descs, start, count, skip): one write() per packet of the (offset,
// len) pairs, each starting `skip` bytes into its frame (14: drop the Ethernet header);
// with vnetHdr a writev() that puts the 10 bytes before the frame in front (csum_start and
// hdr_len moved back by `skip`).
// Returns the number written from `start`, or -errno when the first one failed with a
// data-path errno (EAGAIN, ENOBUFS, EINVAL, EMSGSIZE, EIO). One crossing per batch.
//
// Readiness: start(cb)/stop()/ref()/unref() from FdPoller (native/fd-poller.h, uv_poll,
// readable), as PacketSocket; close() also closes the fd.
#include "tun.h"
#include "errors.h"
#include "fd-poller.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace tsvs {

namespace {

constexpr uint32_t kDescStride = 8;
constexpr uint32_t kTxDescStride = 2;
constexpr uint32_t kVnetHdrLen = 10;
constexpr uint32_t kEthLen = 14;
constexpr uint32_t kHeadroom = kVnetHdrLen + kEthLen;  // 24
constexpr uint32_t kTpStatusUser = 1;
constexpr uint32_t kTpStatusCsumNotReady = 1 << 3;

// struct virtio_net_hdr (little-endian fields on a little-endian host).
struct VnetHdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(VnetHdr) == kVnetHdrLen, "virtio_net_hdr is 10 bytes");

bool IsDataPathErrno(int err) {
  switch (err) {
    case EAGAIN:
    case ENOBUFS:
    case ENOMEM:
    case EMSGSIZE:
    case EINVAL:
    case EIO:
    case EFAULT:
      return true;
    default:
      return false;
  }
}

// (data, length) of an ArrayBuffer or typed array argument; false if it is neither.
bool BytesOf(Napi::Value v, uint8_t** data, size_t* len) {
  if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
    *data = static_cast<uint8_t*>(ab.Data());
    *len = ab.ByteLength();
    return true;
  }
  if (v.IsTypedArray()) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    *data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    *len = ta.ByteLength();
    return true;
  }
  return false;
}

bool IsU32Array(Napi::Value v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array;
}

}  // namespace

class TunDevice : public FdPoller<TunDevice> {
 public:
  static Napi::Function Define(Napi::Env env) {
    std::vector<PropertyDescriptor> props = {
        InstanceMethod<&TunDevice::ReadBatch>("readBatch"),
        InstanceMethod<&TunDevice::WriteBatch>("writeBatch"),
        InstanceMethod<&TunDevice::Close>("close"),
        InstanceAccessor<&TunDevice::GetFd>("fd"),
        InstanceAccessor<&TunDevice::GetName>("name"),
        InstanceAccessor<&TunDevice::GetMultiQueue>("multiQueue"),
        InstanceAccessor<&TunDevice::GetVnetHdr>("vnetHdr"),
    };
    AddPollMethods(&props);  // start, stop, ref, unref
    return DefineClass(env, "TunDevice", props);
  }

  // new TunDevice(name, { mtu, multiQueue, vnetHdr })
  explicit TunDevice(const Napi::CallbackInfo& info) : FdPoller<TunDevice>(info, "poll(tun)") {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) {
      Napi::TypeError::New(env, "TunDevice(name: string, options: object)").ThrowAsJavaScriptException();
      return;
    }
    std::string name = info[0].As<Napi::String>().Utf8Value();
    if (name.size() >= IFNAMSIZ) {
      Napi::RangeError::New(env, "TunDevice: name too long").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object o = info[1].As<Napi::Object>();
    Napi::Value mtuV = o.Get("mtu");
    uint32_t mtu = mtuV.IsNumber() ? mtuV.As<Napi::Number>().Uint32Value() : 0;
    Napi::Value mqV = o.Get("multiQueue");
    bool wantMq = mqV.IsBoolean() && mqV.As<Napi::Boolean>().Value();
    Napi::Value vnV = o.Get("vnetHdr");
    vnet_ = vnV.IsBoolean() && vnV.As<Napi::Boolean>().Value();

    fd_ = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) {
      Fail(env, "open(/dev/net/tun)");
      return;
    }
    unsigned int features = 0;
    if (ioctl(fd_, TUNGETFEATURES, &features) != 0) features = 0;  // very old kernels
    ifreq ifr;
    std::memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    if (wantMq && (features & IFF_MULTI_QUEUE)) ifr.ifr_flags |= IFF_MULTI_QUEUE;
    if (vnet_) ifr.ifr_flags |= IFF_VNET_HDR;
    std::memcpy(ifr.ifr_name, name.data(), name.size());
    if (ioctl(fd_, TUNSETIFF, &ifr) != 0) {
      Fail(env, "ioctl(TUNSETIFF)");
      return;
    }
    multiQueue_ = (ifr.ifr_flags & IFF_MULTI_QUEUE) != 0;
    if (vnet_) {
      int sz = static_cast<int>(kVnetHdrLen);
      if (ioctl(fd_, TUNSETVNETHDRSZ, &sz) != 0) {
        Fail(env, "ioctl(TUNSETVNETHDRSZ)");
        return;
      }
      unsigned int off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
      if (ioctl(fd_, TUNSETOFFLOAD, off) != 0) {
        Fail(env, "ioctl(TUNSETOFFLOAD)");
        return;
      }
    }
    name_.assign(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));

    // MTU and IFF_UP go through an ordinary socket (the tun fd takes no SIOCSIF*).
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
      Fail(env, "socket(AF_INET)");
      return;
    }
    ifreq req;
    std::memset(&req, 0, sizeof(req));
    std::memcpy(req.ifr_name, name_.data(), name_.size());
    if (mtu) {
      req.ifr_mtu = static_cast<int>(mtu);
      if (ioctl(s, SIOCSIFMTU, &req) != 0) {
        int err = errno;
        close(s);
        errno = err;
        Fail(env, "ioctl(SIOCSIFMTU)");
        return;
      }
    }
    if (ioctl(s, SIOCGIFFLAGS, &req) != 0 || (req.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &req) != 0)) {
      int err = errno;
      close(s);
      errno = err;
      Fail(env, "ioctl(SIOCSIFFLAGS)");
      return;
    }
    close(s);
  }

  ~TunDevice() override { CloseNative(); }

 private:
  void Fail(Napi::Env env, const char* syscall) {
    int err = errno;
    CloseNative();
    ThrowErrno(env, err, syscall);
  }

  int PollFd() const override { return fd_; }

  void CloseNative() {
    ClosePollHandle();
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  bool CheckOpen(Napi::Env env, const char* what) {
    if (fd_ >= 0) return true;
    ThrowErrno(env, EBADF, what);
    return false;
  }

  // readBatch(arena, descs: Uint32Array, eth: Uint8Array(14), slotSize, maxFrames): frames read.
  Napi::Value ReadBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "read")) return env.Undefined();
    uint8_t* arena = nullptr;
    size_t arenaLen = 0;
    uint8_t* eth = nullptr;
    size_t ethLen = 0;
    if (info.Length() < 5 || !BytesOf(info[0], &arena, &arenaLen) || !IsU32Array(info[1]) ||
        !BytesOf(info[2], &eth, &ethLen) || !info[3].IsNumber() || !info[4].IsNumber()) {
      Napi::TypeError::New(env, "readBatch(arena, descs: Uint32Array, eth: Uint8Array, slotSize: number, maxFrames: number)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint32Array descs = info[1].As<Napi::Uint32Array>();
    uint32_t slot = info[3].As<Napi::Number>().Uint32Value();
    uint32_t maxFrames = info[4].As<Napi::Number>().Uint32Value();
    if (ethLen < kEthLen || slot <= kHeadroom + 20 ||
        static_cast<uint64_t>(slot) * maxFrames > arenaLen ||
        static_cast<uint64_t>(maxFrames) * kDescStride > descs.ElementLength()) {
      Napi::RangeError::New(env, "readBatch: arena or descriptors too small for maxFrames slots").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t* d = descs.Data();
    uint32_t n = 0;
    while (n < maxFrames) {
      uint8_t* p = arena + static_cast<size_t>(n) * slot;
      ssize_t r;
      if (vnet_) {
        iovec iov[2] = {{p, kVnetHdrLen}, {p + kHeadroom, slot - kHeadroom}};
        r = readv(fd_, iov, 2);
        if (r >= 0) r = r < static_cast<ssize_t>(kVnetHdrLen) ? 0 : r - kVnetHdrLen;
      } else {
        r = read(fd_, p + kHeadroom, slot - kHeadroom);
      }
      if (r < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || n > 0) break;
        ThrowErrno(env, err, "read(tun)");
        return env.Undefined();
      }
      if (r == 0) break;
      uint32_t len = static_cast<uint32_t>(r);
      uint32_t* w = d + static_cast<size_t>(n) * kDescStride;
      w[3] = kTpStatusUser;
      w[4] = w[5] = w[6] = w[7] = 0;
      if (vnet_) {
        VnetHdr vh;
        std::memcpy(&vh, p, sizeof(vh));
        if (vh.flags & 1 /* VIRTIO_NET_HDR_F_NEEDS_CSUM */) {
          vh.csum_start = static_cast<uint16_t>(vh.csum_start + kEthLen);
          w[3] |= kTpStatusCsumNotReady;
        }
        if (vh.hdr_len) vh.hdr_len = static_cast<uint16_t>(vh.hdr_len + kEthLen);
        std::memcpy(p, &vh, sizeof(vh));
        w[5] = static_cast<uint32_t>(vh.flags) | (static_cast<uint32_t>(vh.gso_type) << 8) |
               (static_cast<uint32_t>(vh.hdr_len) << 16);
        w[6] = static_cast<uint32_t>(vh.gso_size) | (static_cast<uint32_t>(vh.csum_start) << 16);
        w[7] = vh.csum_offset;
      } else {
        std::memset(p, 0, kVnetHdrLen);
      }
      std::memcpy(p + kVnetHdrLen, eth, kEthLen);
      uint8_t ver = p[kHeadroom] >> 4;
      p[kVnetHdrLen + 12] = ver == 6 ? 0x86 : 0x08;
      p[kVnetHdrLen + 13] = ver == 6 ? 0xdd : 0x00;
      w[0] = n * slot + kVnetHdrLen;
      // A packet that filled its slot may have been cut: the wire length says so (the
      // pipeline drops snaplen < len as a runt).
      w[1] = len + kEthLen;
      w[2] = len == slot - kHeadroom ? 0xffffffffu : len + kEthLen;
      n++;
    }
    return Napi::Number::New(env, n);
  }

  // writeBatch(buf, descs: Uint32Array of (offset, len), start, count, skip): written, or -errno.
  Napi::Value WriteBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "write")) return env.Undefined();
    uint8_t* data = nullptr;
    size_t dataLen = 0;
    if (info.Length() < 5 || !BytesOf(info[0], &data, &dataLen) || !IsU32Array(info[1]) || !info[2].IsNumber() ||
        !info[3].IsNumber() || !info[4].IsNumber()) {
      Napi::TypeError::New(env, "writeBatch(buf, descs: Uint32Array, start: number, count: number, skip: number)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint32Array descs = info[1].As<Napi::Uint32Array>();
    uint32_t start = info[2].As<Napi::Number>().Uint32Value();
    uint32_t count = info[3].As<Napi::Number>().Uint32Value();
    uint32_t skip = info[4].As<Napi::Number>().Uint32Value();
    if ((static_cast<uint64_t>(start) + count) * kTxDescStride > descs.ElementLength()) {
      Napi::RangeError::New(env, "writeBatch: start + count exceeds the descriptors").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const uint32_t* d = descs.Data() + static_cast<size_t>(start) * kTxDescStride;
    uint32_t sent = 0;
    while (sent < count) {
      uint64_t off = d[sent * kTxDescStride];
      uint64_t len = d[sent * kTxDescStride + 1];
      if (len <= skip || off + len > dataLen || (vnet_ && off < kVnetHdrLen)) {
        Napi::RangeError::New(env, "writeBatch: descriptor " + std::to_string(start + sent) + " lies outside the buffer")
            .ThrowAsJavaScriptException();
        return env.Undefined();
      }
      ssize_t r;
      if (vnet_) {
        VnetHdr vh;
        std::memcpy(&vh, data + off - kVnetHdrLen, sizeof(vh));
        if (vh.flags & 1) vh.csum_start = static_cast<uint16_t>(vh.csum_start - skip);
        if (vh.hdr_len) vh.hdr_len = static_cast<uint16_t>(vh.hdr_len - skip);
        iovec iov[2] = {{&vh, kVnetHdrLen}, {data + off + skip, static_cast<size_t>(len - skip)}};
        r = writev(fd_, iov, 2);
      } else {
        r = write(fd_, data + off + skip, len - skip);
      }
      if (r < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (sent > 0) break;
        if (IsDataPathErrno(err)) return Napi::Number::New(env, -err);
        ThrowErrno(env, err, "write(tun)");
        return env.Undefined();
      }
      sent++;
    }
    return Napi::Number::New(env, sent);
  }

  // close(): stops polling and closes the fd; a non-persistent device disappears with it
  // (and the routes through it). Idempotent.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    StopPolling();
    CloseNative();
    return info.Env().Undefined();
  }

  Napi::Value GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
  Napi::Value GetName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }
  Napi::Value GetMultiQueue(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), multiQueue_); }
  Napi::Value GetVnetHdr(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), vnet_); }

  int fd_ = -1;
  std::string name_;
  bool multiQueue_ = false;
  bool vnet_ = false;
};

void InitTun(Napi::Env env, Napi::Object exports) {
  exports.Set("TunDevice", TunDevice::Define(env));
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("headroom", Napi::Number::New(env, kHeadroom));
  layout.Set("descStride", Napi::Number::New(env, kDescStride));
  exports.Set("tunLayout", layout);
}

}  // namespace tsvs
