// Run-time CPU-feature detection: which SIMD instruction sets this machine (and its OS,
// which must save the wide registers on context switch) can run, and the data-cache sizes it
// reports. Header-only, no napi.h.
#pragma once

#include <atomic>

#if defined(__x86_64__) || defined(_M_X64)
#if defined(_MSC_VER)
#include <immintrin.h>
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace kiln {

struct CpuFeatures {
  bool avx2_fma = false;  // AVX2 + FMA3, with YMM state enabled by the OS
  bool avx512 = false;    // AVX-512 F, with ZMM and opmask state enabled by the OS
  bool avx512_bf16 = false;  // AVX512-BF16 (vdpbf16ps) and AVX-512 BW, on top of avx512
  bool avx512_vnni = false;  // AVX512-VNNI (vpdpbusd), with the AVX-512 state above
  bool neon = false;      // Advanced SIMD (always present on aarch64)
};

// Data-cache sizes in bytes, per core for L1d and L2, as reported for L3 (often shared).
// The defaults are the fallbacks used when the CPU does not report a level.
struct CacheSizes {
  long long l1d = 32 << 10;
  long long l2 = 512 << 10;
  long long l3 = 8 << 20;
};

// Reported L3 sizes above this are capped: a VM may list the whole package's L3 (the Zen 5
// VM: 508 MiB, sixteen 32 MiB core complexes) of which a core reaches one complex's. The L3
// only sizes NC (1/16 of it on AVX-512: NC 1024 at the cap, a 4 MiB panel, an eighth of the
// complex a core reaches). Measured on that VM (C++ harness on sgemm, NC 2048 and 1024
// alternating in one process, medians of 5): 4096³ 1 thread +2.5% (three runs), 2 threads
// +3.4%; 256×4096×4096 +1.8%; 128×6272×1152 +3%; 2048³ +0–2%; 64×25088×576 −1%; products at
// most 1024 wide are unchanged. NC 4096 or 8192 (caps of 256 and 512 MiB) were no better.
constexpr long long kMaxL3 = 64ll << 20;

namespace detail {

#if defined(__x86_64__) || defined(_M_X64)
// regs = {eax, ebx, ecx, edx} of cpuid(leaf, subleaf).
inline void cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4]) {
#if defined(_MSC_VER)
  int r[4];
  __cpuidex(r, static_cast<int>(leaf), static_cast<int>(subleaf));
  for (int i = 0; i < 4; ++i) regs[i] = static_cast<unsigned>(r[i]);
#else
  __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
#endif
}

// XCR0: which register states the OS saves (bit 1 SSE, 2 AVX, 5-7 AVX-512).
inline unsigned long long xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
#endif
}

inline CpuFeatures detect_cpu_features() {
  CpuFeatures features;
  unsigned regs[4];
  cpuid(0, 0, regs);
  const unsigned max_leaf = regs[0];
  if (max_leaf < 7) return features;
  cpuid(1, 0, regs);
  const bool fma = regs[2] & (1u << 12);
  const bool osxsave = regs[2] & (1u << 27);
  if (!osxsave) return features;
  const unsigned long long xcr0 = xgetbv0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;
  cpuid(7, 0, regs);
  const bool avx2 = regs[1] & (1u << 5);
  const bool avx512f = regs[1] & (1u << 16);
  const bool avx512bw = regs[1] & (1u << 30);
  const bool avx512vnni = regs[2] & (1u << 11);
  const unsigned max_subleaf = regs[0];
  features.avx2_fma = avx2 && fma && os_ymm;
  features.avx512 = features.avx2_fma && avx512f && os_zmm;
  features.avx512_vnni = features.avx512 && avx512vnni;
  if (max_subleaf >= 1) {
    cpuid(7, 1, regs);
    const bool bf16 = regs[0] & (1u << 5);  // AVX512_BF16 is bit 5 of EAX in leaf 7, subleaf 1
    features.avx512_bf16 = features.avx512 && avx512bw && bf16;
  }
  return features;
}

// Whether the vendor is AMD or Hygon ("AuthenticAMD", "HygonGenuine": cpuid 0's EBX).
inline bool amd_like() {
  unsigned regs[4];
  cpuid(0, 0, regs);
  return regs[1] == 0x68747541u /* "Auth" */ || regs[1] == 0x6f677948u /* "Hygo" */;
}

// The highest extended cpuid leaf (cpuid 0x80000000's EAX).
inline unsigned max_extended_leaf() {
  unsigned regs[4];
  cpuid(0x80000000u, 0, regs);
  return regs[0];
}

// The deterministic cache parameters leaf: 0x8000001D on AMD and Hygon (with TOPOEXT), 4 on
// Intel and others; 0 when the CPU has neither.
inline unsigned cache_parameters_leaf() {
  unsigned regs[4];
  cpuid(0, 0, regs);
  const unsigned max_leaf = regs[0];
  if (!amd_like()) return max_leaf >= 4 ? 4u : 0u;
  if (max_extended_leaf() < 0x8000001Du) return 0;
  cpuid(0x80000001u, 0, regs);
  return (regs[2] & (1u << 22)) ? 0x8000001Du : 0u;  // TOPOEXT
}

// Each data or unified cache of the deterministic cache parameters leaf:
// size = ways · partitions · line size · sets. False when the CPU has no such leaf or it
// lists no cache (some hypervisors pass the leaf's index but zero its contents).
inline bool read_cache_parameters(CacheSizes& sizes) {
  const unsigned leaf = cache_parameters_leaf();
  if (leaf == 0) return false;
  bool found = false;
  for (unsigned subleaf = 0; subleaf < 16; ++subleaf) {
    unsigned regs[4];
    cpuid(leaf, subleaf, regs);
    const unsigned type = regs[0] & 0x1f;  // 0 none (end), 1 data, 2 instruction, 3 unified
    if (type == 0) break;
    if (type == 2) continue;
    const long long ways = ((regs[1] >> 22) & 0x3ff) + 1, partitions = ((regs[1] >> 12) & 0x3ff) + 1;
    const long long line = (regs[1] & 0xfff) + 1, sets = static_cast<long long>(regs[2]) + 1;
    const long long bytes = ways * partitions * line * sets;
    const unsigned level = (regs[0] >> 5) & 7;
    if (level == 1) sizes.l1d = bytes;
    if (level == 2) sizes.l2 = bytes;
    if (level == 3) sizes.l3 = bytes;
    found = true;
  }
  return found;
}

// AMD's older cache leaves, which VMs without TOPOEXT still fill in: 0x80000005 ECX[31:24] is
// the L1d in KiB, 0x80000006 ECX[31:16] the L2 in KiB and EDX[31:18] the L3 in 512 KiB units
// (0 when absent). The Zen 5 VM reports 48 KiB, 1 MiB and 508 MiB here: its L3 figure is the
// whole package's, hence the cap kMaxL3 in detect_cache_sizes.
inline void read_amd_legacy_cache_leaves(CacheSizes& sizes) {
  if (!amd_like()) return;
  unsigned regs[4];
  const unsigned max_extended = max_extended_leaf();
  if (max_extended >= 0x80000005u) {
    cpuid(0x80000005u, 0, regs);
    if (const long long kib = regs[2] >> 24) sizes.l1d = kib << 10;
  }
  if (max_extended >= 0x80000006u) {
    cpuid(0x80000006u, 0, regs);
    if (const long long kib = regs[2] >> 16) sizes.l2 = kib << 10;
    if (const long long units = regs[3] >> 18) sizes.l3 = units * (512ll << 10);
  }
}

inline CacheSizes detect_cache_sizes() {
  CacheSizes sizes;
  if (!read_cache_parameters(sizes)) read_amd_legacy_cache_leaves(sizes);
  if (sizes.l3 > kMaxL3) sizes.l3 = kMaxL3;
  return sizes;
}
#elif defined(__aarch64__) || defined(_M_ARM64)
inline CacheSizes detect_cache_sizes() { return CacheSizes{}; }

inline CpuFeatures detect_cpu_features() {
  CpuFeatures features;
  features.neon = true;
  return features;
}
#else
inline CpuFeatures detect_cpu_features() { return CpuFeatures{}; }
inline CacheSizes detect_cache_sizes() { return CacheSizes{}; }
#endif

}  // namespace detail

// The features of this CPU, detected once.
inline const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detail::detect_cpu_features();
  return features;
}

// This CPU's data-cache sizes, detected once (cpuid on x86-64; the CacheSizes defaults on
// other targets or when the CPU reports nothing).
inline const CacheSizes& cache_sizes() {
  static const CacheSizes sizes = detail::detect_cache_sizes();
  return sizes;
}

// The vector width of the kernels written for both Vec8 and Vec16 (vectorize.h): the CPU's
// (kAuto: Vec16 where AVX-512 runs, Vec8 elsewhere), or one forced by tests so both widths run
// on one machine (Vec16 runs, slowly, on AVX2 too).
enum class VectorWidth { kAuto, kNarrow, kWide };

inline std::atomic<VectorWidth>& forced_vector_width() {
  static std::atomic<VectorWidth> width{VectorWidth::kAuto};
  return width;
}

inline void force_vector_width(VectorWidth width) { forced_vector_width().store(width, std::memory_order_relaxed); }

// True where those kernels take Vec16, false where they take Vec8.
inline bool wide_vectors() {
  const VectorWidth width = forced_vector_width().load(std::memory_order_relaxed);
  return width == VectorWidth::kAuto ? cpu_features().avx512 : width == VectorWidth::kWide;
}

}  // namespace kiln
