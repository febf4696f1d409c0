/* LD_PRELOAD shim that counts heap allocation calls, for bench/bench_allocs.py.
 *
 * Interposes malloc, calloc, realloc, reallocarray, posix_memalign, aligned_alloc, memalign, valloc
 * and pvalloc, counts each call (all threads, relaxed atomics) and forwards to glibc's own entry
 * points (__libc_malloc, __libc_memalign, ...): no dlsym, so no recursion through it. free is not
 * interposed: glibc's free takes what __libc_* returned.
 *
 * operator new in libstdc++ calls malloc, so C++ allocations are counted either way, also those of
 * the Anvil plugin, whose statically linked operator new calls malloc too. The shim still defines
 * the global operator new family (each counted once, forwarding to __libc_malloc / __libc_memalign;
 * a dynamically linked libstdc++'s operator delete frees that) for attribution only: so that the
 * caller seen is the code that said `new`, not libstdc++.
 *
 * Exports:
 *   uint64_t alloc_count_total(void)  calls since the last reset
 *   void alloc_count_reset(void)
 *   int alloc_count_add_range(uintptr_t lo, uintptr_t hi)  an address range [lo, hi) (a shared
 *       library's mappings), up to MAX_RANGES; 0 on success
 *   uint64_t alloc_count_in_ranges(void)  calls since the last reset whose immediate caller's return
 *       address lies in one of the ranges: those libraries' own allocations (not a tail call into
 *       malloc, nor allocations made for them by functions outside the ranges)
 *   uint64_t alloc_count_in_range(int i)  those of them in range i (in the order added)
 *
 * Build: cc -O2 -shared -fPIC -o alloc_count.so alloc_count.c -ldl   (glibc only)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

extern void* __libc_malloc(size_t size);
extern void* __libc_calloc(size_t n, size_t size);
extern void* __libc_realloc(void* p, size_t size);
extern void* __libc_memalign(size_t alignment, size_t size);
extern void* __libc_valloc(size_t size);
extern void* __libc_pvalloc(size_t size);

#define EXPORT __attribute__((visibility("default")))
#define MAX_RANGES 32

static uint64_t g_count;
static uint64_t g_in_ranges;
static uint64_t g_in_range[MAX_RANGES];
static uintptr_t g_lo[MAX_RANGES], g_hi[MAX_RANGES];
static int g_ranges; /* published after the range it covers is written */

static inline void count_caller(uintptr_t ra) {
  __atomic_fetch_add(&g_count, 1, __ATOMIC_RELAXED);
  int n = __atomic_load_n(&g_ranges, __ATOMIC_ACQUIRE);
  for (int i = 0; i < n; ++i) {
    if (ra >= g_lo[i] && ra < g_hi[i]) {
      __atomic_fetch_add(&g_in_ranges, 1, __ATOMIC_RELAXED);
      __atomic_fetch_add(&g_in_range[i], 1, __ATOMIC_RELAXED);
      return;
    }
  }
}

/* A macro, so __builtin_return_address(0) is that of the interposed function itself. */
#define COUNT() count_caller((uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0)))

EXPORT uint64_t alloc_count_total(void) { return __atomic_load_n(&g_count, __ATOMIC_RELAXED); }
EXPORT uint64_t alloc_count_in_ranges(void) { return __atomic_load_n(&g_in_ranges, __ATOMIC_RELAXED); }

EXPORT uint64_t alloc_count_in_range(int i) {
  return i >= 0 && i < MAX_RANGES ? __atomic_load_n(&g_in_range[i], __ATOMIC_RELAXED) : 0;
}

EXPORT void alloc_count_reset(void) {
  __atomic_store_n(&g_count, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&g_in_ranges, 0, __ATOMIC_RELAXED);
  for (int i = 0; i < MAX_RANGES; ++i) __atomic_store_n(&g_in_range[i], 0, __ATOMIC_RELAXED);
}

EXPORT int alloc_count_add_range(uintptr_t lo, uintptr_t hi) { /* one caller at a time */
  int n = __atomic_load_n(&g_ranges, __ATOMIC_RELAXED);
  if (n == MAX_RANGES || lo >= hi) return -1;
  g_lo[n] = lo;
  g_hi[n] = hi;
  __atomic_store_n(&g_ranges, n + 1, __ATOMIC_RELEASE);
  return 0;
}

/* ---- C allocation functions */

EXPORT void* malloc(size_t size) {
  COUNT();
  return __libc_malloc(size);
}

EXPORT void* calloc(size_t n, size_t size) {
  COUNT();
  return __libc_calloc(n, size);
}

EXPORT void* realloc(void* p, size_t size) {
  COUNT();
  return __libc_realloc(p, size);
}

EXPORT void* reallocarray(void* p, size_t n, size_t size) {
  COUNT();
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) {
    errno = ENOMEM;
    return NULL;
  }
  return __libc_realloc(p, bytes);
}

EXPORT int posix_memalign(void** out, size_t alignment, size_t size) {
  COUNT();
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  int saved = errno; /* posix_memalign reports through its result and leaves errno alone */
  void* p = __libc_memalign(alignment, size);
  errno = saved;
  if (p == NULL) return ENOMEM;
  *out = p;
  return 0;
}

EXPORT void* aligned_alloc(size_t alignment, size_t size) {
  COUNT();
  return __libc_memalign(alignment, size);
}

EXPORT void* memalign(size_t alignment, size_t size) {
  COUNT();
  return __libc_memalign(alignment, size);
}

EXPORT void* valloc(size_t size) {
  COUNT();
  return __libc_valloc(size);
}

EXPORT void* pvalloc(size_t size) {
  COUNT();
  return __libc_pvalloc(size);
}

/* ---- the global operator new family (Itanium C++ ABI names, 64-bit size_t)
 * On failure the throwing forms hand over to the next definition (libstdc++'s), which runs the
 * new-handler and throws std::bad_alloc; it then allocates through malloc above, counted again, but
 * only when memory has run out. */

typedef void* (*new_fn)(size_t);
typedef void* (*new_aligned_fn)(size_t, size_t);

static void* new_fallback(const char* name, size_t size) {
  new_fn next = (new_fn)dlsym(RTLD_NEXT, name);
  return next ? next(size) : NULL;
}

static void* new_aligned_fallback(const char* name, size_t size, size_t alignment) {
  new_aligned_fn next = (new_aligned_fn)dlsym(RTLD_NEXT, name);
  return next ? next(size, alignment) : NULL;
}

static inline void* plain_new(size_t size) { return __libc_malloc(size ? size : 1); }

static inline void* aligned_new(size_t size, size_t alignment) {
  return __libc_memalign(alignment, size ? size : 1);
}

/* operator new(size_t), operator new[](size_t) */
EXPORT void* _Znwm(size_t size) {
  COUNT();
  void* p = plain_new(size);
  return p ? p : new_fallback("_Znwm", size);
}

EXPORT void* _Znam(size_t size) {
  COUNT();
  void* p = plain_new(size);
  return p ? p : new_fallback("_Znam", size);
}

/* operator new(size_t, const std::nothrow_t&), and [] */
EXPORT void* _ZnwmRKSt9nothrow_t(size_t size, const void* tag) {
  (void)tag;
  COUNT();
  return plain_new(size);
}

EXPORT void* _ZnamRKSt9nothrow_t(size_t size, const void* tag) {
  (void)tag;
  COUNT();
  return plain_new(size);
}

/* operator new(size_t, std::align_val_t), and [] */
EXPORT void* _ZnwmSt11align_val_t(size_t size, size_t alignment) {
  COUNT();
  void* p = aligned_new(size, alignment);
  return p ? p : new_aligned_fallback("_ZnwmSt11align_val_t", size, alignment);
}

EXPORT void* _ZnamSt11align_val_t(size_t size, size_t alignment) {
  COUNT();
  void* p = aligned_new(size, alignment);
  return p ? p : new_aligned_fallback("_ZnamSt11align_val_t", size, alignment);
}

/* operator new(size_t, std::align_val_t, const std::nothrow_t&), and [] */
EXPORT void* _ZnwmSt11align_val_tRKSt9nothrow_t(size_t size, size_t alignment, const void* tag) {
  (void)tag;
  COUNT();
  return aligned_new(size, alignment);
}

EXPORT void* _ZnamSt11align_val_tRKSt9nothrow_t(size_t size, size_t alignment, const void* tag) {
  (void)tag;
  COUNT();
  return aligned_new(size, alignment);
}
