// probe_cpu: describes the machine instance it runs on (issue 13; measure_host3.py runs it in
// the same device call as the GEMMs it is used to predict). Build: cc -O2 -march=native -pthread.
//
//   probe_cpu clock T scalar|vector   T threads each run a dependent chain for about 0.3 s and
//                                     print their clock in GHz, one line per thread:
//        scalar: 8 dependent 1-cycle integer adds per loop iteration (the light-load clock);
//        vector: 8 dependent vfmadd231ps on the widest vector (zmm with AVX-512, else ymm), 4
//                cycles each (Golden/Raptor Cove and Zen 3 alike): the clock under vector load.
//   probe_cpu clock T fma             (host4) T threads each run 12 independent vfmadd231ps zmm
//                                     chains (enough to fill both FMA ports: 2 ports x 4 cycles);
//                                     prints FMA instructions per ns / 2, the clock if both ports
//                                     issue every cycle: what heavy AVX-512 throughput runs at.
//   probe_cpu clock T fmapin          (host5) as fma, but thread i is pinned to vCPU i and runs 3
//                                     repetitions (about 0.15 s): one line per vCPU 0..T-1, so a
//                                     vCPU whose physical core a busy SMT sibling shares shows at
//                                     about half the rate of the others.
//   probe_cpu read T BYTES            T threads each sum their slice of one BYTES array (vector
//                                     loads, 4 accumulators; each thread first-touches its
//                                     slice); prints the best of 5 passes' GB/s.
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static pthread_barrier_t bar;
static int mode_vector, mode_fma, mode_pin;
static double ghz[256];

#define A8(s) s s s s s s s s

static void* clock_thread(void* arg) {
  const long id = (long)arg;
  const long iters = 4000000;
  if (mode_pin) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((int)id, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }
  pthread_barrier_wait(&bar);
  double best = 0;
  for (int rep = 0; rep < (mode_pin ? 3 : 5); ++rep) {
    double t0 = now();
    if (mode_fma) {
#ifdef __AVX512F__
      const __m512 b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-7f);
      __m512 a0 = _mm512_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
             a8 = a0, a9 = a0, a10 = a0, a11 = a0;
      for (long i = 0; i < iters * 5; ++i) {
        __asm__ volatile(
            "vfmadd231ps %12, %13, %0\n\tvfmadd231ps %12, %13, %1\n\tvfmadd231ps %12, %13, %2\n\t"
            "vfmadd231ps %12, %13, %3\n\tvfmadd231ps %12, %13, %4\n\tvfmadd231ps %12, %13, %5\n\t"
            "vfmadd231ps %12, %13, %6\n\tvfmadd231ps %12, %13, %7\n\tvfmadd231ps %12, %13, %8\n\t"
            "vfmadd231ps %12, %13, %9\n\tvfmadd231ps %12, %13, %10\n\tvfmadd231ps %12, %13, %11\n\t"
            : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7),
              "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11)
            : "v"(b), "v"(c));
      }
      __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                               _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
      s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
      if (_mm512_reduce_add_ps(s) == 12345.678f) fprintf(stderr, "x\n");
      double g = (double)iters * 5 * 12 / 2 / (now() - t0) / 1e9;
#else
      // AVX2 (the development machine): the same 12 independent chains on ymm registers.
      const __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-7f);
      __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
             a8 = a0, a9 = a0, a10 = a0, a11 = a0;
      for (long i = 0; i < iters * 5; ++i) {
        __asm__ volatile(
            "vfmadd231ps %12, %13, %0\n\tvfmadd231ps %12, %13, %1\n\tvfmadd231ps %12, %13, %2\n\t"
            "vfmadd231ps %12, %13, %3\n\tvfmadd231ps %12, %13, %4\n\tvfmadd231ps %12, %13, %5\n\t"
            "vfmadd231ps %12, %13, %6\n\tvfmadd231ps %12, %13, %7\n\tvfmadd231ps %12, %13, %8\n\t"
            "vfmadd231ps %12, %13, %9\n\tvfmadd231ps %12, %13, %10\n\tvfmadd231ps %12, %13, %11\n\t"
            : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6), "+x"(a7),
              "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11)
            : "x"(b), "x"(c));
      }
      __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                               _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
      s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
      float t8[8];
      _mm256_storeu_ps(t8, s);
      if (t8[0] == 12345.678f) fprintf(stderr, "x\n");
      double g = (double)iters * 5 * 12 / 2 / (now() - t0) / 1e9;
#endif
      if (g > best) best = g;
    } else if (mode_vector) {
#ifdef __AVX512F__
      __m512 a = _mm512_set1_ps(1.0f), b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-7f);
      for (long i = 0; i < iters; ++i)
        __asm__ volatile(A8("vfmadd231ps %1, %2, %0\n\t") : "+v"(a) : "v"(b), "v"(c));
#else
      __m256 a = _mm256_set1_ps(1.0f), b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-7f);
      for (long i = 0; i < iters; ++i)
        __asm__ volatile(A8("vfmadd231ps %1, %2, %0\n\t") : "+x"(a) : "x"(b), "x"(c));
#endif
      double cycles = (double)iters * 8 * 4;
      double g = cycles / (now() - t0) / 1e9;
      if (g > best) best = g;
    } else {
      unsigned long x = 0;
      for (long i = 0; i < iters * 4; ++i) __asm__ volatile(A8("add $1, %0\n\t") : "+r"(x));
      double cycles = (double)iters * 4 * 8;
      double g = cycles / (now() - t0) / 1e9;
      if (g > best) best = g;
    }
  }
  ghz[id] = best;
  return NULL;
}

static float* buf;
static size_t n_floats;
static int n_threads;
static double pass_t0[8], pass_t1[8];

static void* read_thread(void* arg) {
  const long id = (long)arg;
  const size_t per = n_floats / n_threads;
  float* p = buf + id * per;
  memset(p, 1, per * sizeof(float));  // first touch: the pages live near this thread
  float sink = 0;
  for (int pass = 0; pass < 5; ++pass) {
    pthread_barrier_wait(&bar);
    if (id == 0) pass_t0[pass] = now();
#ifdef __AVX512F__
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 64 <= per; i += 64) {
      s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
      s1 = _mm512_add_ps(s1, _mm512_load_ps(p + i + 16));
      s2 = _mm512_add_ps(s2, _mm512_load_ps(p + i + 32));
      s3 = _mm512_add_ps(s3, _mm512_load_ps(p + i + 48));
    }
    sink += _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
#else
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 32 <= per; i += 32) {
      s0 = _mm256_add_ps(s0, _mm256_load_ps(p + i));
      s1 = _mm256_add_ps(s1, _mm256_load_ps(p + i + 8));
      s2 = _mm256_add_ps(s2, _mm256_load_ps(p + i + 16));
      s3 = _mm256_add_ps(s3, _mm256_load_ps(p + i + 24));
    }
    float t[8];
    _mm256_storeu_ps(t, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (int k = 0; k < 8; ++k) sink += t[k];
#endif
    pthread_barrier_wait(&bar);
    if (id == 0) pass_t1[pass] = now();
  }
  if (sink == 12345.678f) fprintf(stderr, "%f\n", sink);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s clock T scalar|vector|fma|fmapin | read T BYTES\n", argv[0]);
    return 2;
  }
  n_threads = atoi(argv[2]);
  if (n_threads < 1 || n_threads > 256) return 2;
  pthread_t th[256];
  pthread_barrier_init(&bar, NULL, n_threads);
  if (!strcmp(argv[1], "clock")) {
    mode_vector = !strcmp(argv[3], "vector");
    mode_pin = !strcmp(argv[3], "fmapin");
    mode_fma = mode_pin || !strcmp(argv[3], "fma");
    for (long i = 0; i < n_threads; ++i) pthread_create(&th[i], NULL, clock_thread, (void*)i);
    for (int i = 0; i < n_threads; ++i) pthread_join(th[i], NULL);
    for (int i = 0; i < n_threads; ++i) printf("%.4f\n", ghz[i]);
    return 0;
  }
  const size_t bytes = strtoull(argv[3], NULL, 10);
  n_floats = bytes / sizeof(float) / (64 * (size_t)n_threads) * (64 * (size_t)n_threads);
  buf = aligned_alloc(4096, n_floats * sizeof(float) + 4096);
  if (!buf) return 3;
  for (long i = 0; i < n_threads; ++i) pthread_create(&th[i], NULL, read_thread, (void*)i);
  for (int i = 0; i < n_threads; ++i) pthread_join(th[i], NULL);
  double best = 1e30;
  for (int p = 1; p < 5; ++p)
    if (pass_t1[p] - pass_t0[p] < best) best = pass_t1[p] - pass_t0[p];
  printf("%.3f\n", n_floats * sizeof(float) / best / 1e9);
  return 0;
}
