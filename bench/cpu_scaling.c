/* cpu_scaling: how much faster this machine runs N threads of pure
 * arithmetic than one, the ceiling for any program's scaling here.
 * Each thread does the same fixed loop; prints the wall time for 1 and N
 * threads and their ratio. No memory traffic, no locks.
 *
 *   cc -O1 -pthread -o cpu_scaling cpu_scaling.c && ./cpu_scaling 2
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *work(void *arg)
{
    volatile unsigned long x = 0;

    (void)arg;
    for (unsigned long i = 0; i < 400000000UL; i++)
        x += i * i;
    return NULL;
}

static double run(int n)
{
    pthread_t t[64];
    struct timespec a, b;

    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, work, NULL);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2;
    double one, many;

    if (n < 1 || n > 64)
        n = 2;
    one = run(1);
    many = run(n);
    /* n threads did n times the work of one */
    printf("1 thread: %.3f s; %d threads: %.3f s; speed-up %.2fx\n", one, n,
           many, n * one / many);
    return 0;
}
