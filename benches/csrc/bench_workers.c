/*
 * Plain-C baselines for benches/workers.rs: a job handed to another thread
 * and its answer handed back, without Python.
 */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "pyhost_bench.h"

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- blocking hand-off: mutex + two condition variables ---------------- */

struct condvar_rt {
    pthread_mutex_t mu;
    pthread_cond_t request;
    pthread_cond_t response;
    uint64_t asked;    /* requests sent */
    uint64_t answered; /* requests answered */
    int stop;
};

static void *condvar_server(void *arg)
{
    struct condvar_rt *rt = arg;
    pthread_mutex_lock(&rt->mu);
    for (;;) {
        while (rt->asked == rt->answered && !rt->stop)
            pthread_cond_wait(&rt->request, &rt->mu);
        if (rt->stop)
            break;
        rt->answered = rt->asked;
        pthread_cond_signal(&rt->response);
    }
    pthread_mutex_unlock(&rt->mu);
    return NULL;
}

uint64_t pyhost_bench_c_condvar_roundtrip(uint64_t iters)
{
    struct condvar_rt rt = {
        .mu = PTHREAD_MUTEX_INITIALIZER,
        .request = PTHREAD_COND_INITIALIZER,
        .response = PTHREAD_COND_INITIALIZER,
    };
    pthread_t th;
    if (pthread_create(&th, NULL, condvar_server, &rt) != 0)
        return 0;
    uint64_t t0 = now_ns();
    pthread_mutex_lock(&rt.mu);
    for (uint64_t i = 0; i < iters; i++) {
        rt.asked++;
        pthread_cond_signal(&rt.request);
        while (rt.answered != rt.asked)
            pthread_cond_wait(&rt.response, &rt.mu);
    }
    pthread_mutex_unlock(&rt.mu);
    uint64_t dt = now_ns() - t0;
    pthread_mutex_lock(&rt.mu);
    rt.stop = 1;
    pthread_cond_signal(&rt.request);
    pthread_mutex_unlock(&rt.mu);
    pthread_join(th, NULL);
    return dt;
}

/* ---- busy-polling hand-off -------------------------------------------- */

struct spin_rt {
    uint64_t asked;
    uint64_t answered;
    int stop;
};

static void *spin_server(void *arg)
{
    struct spin_rt *rt = arg;
    uint64_t seen = 0;
    for (;;) {
        uint64_t a;
        while ((a = __atomic_load_n(&rt->asked, __ATOMIC_ACQUIRE)) == seen) {
            if (__atomic_load_n(&rt->stop, __ATOMIC_ACQUIRE))
                return NULL;
            CPU_RELAX();
        }
        seen = a;
        __atomic_store_n(&rt->answered, a, __ATOMIC_RELEASE);
    }
}

uint64_t pyhost_bench_c_spin_roundtrip(uint64_t iters)
{
    struct spin_rt rt = {0, 0, 0};
    pthread_t th;
    if (pthread_create(&th, NULL, spin_server, &rt) != 0)
        return 0;
    uint64_t t0 = now_ns();
    for (uint64_t i = 1; i <= iters; i++) {
        __atomic_store_n(&rt.asked, i, __ATOMIC_RELEASE);
        while (__atomic_load_n(&rt.answered, __ATOMIC_ACQUIRE) != i)
            CPU_RELAX();
    }
    uint64_t dt = now_ns() - t0;
    __atomic_store_n(&rt.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    return dt;
}
