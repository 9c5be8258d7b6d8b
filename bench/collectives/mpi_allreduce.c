/* MPI_Allreduce of OpenMPI, as the collectives benchmark's yardstick
 * (bench/collectives/run.sh): each rank sums a vector of K doubles with
 * the others R times, each call after an MPI_Barrier; checks the sum and
 * prints "seconds S", the median over the ranks of each rank's median
 * time per call.
 *
 *   mpirun -np M mpi_allreduce K R
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Rank p's element j: small multiples of 1/4, so the sum is exact. */
static double value_at(int p, long j)
{
    return (double)((p * 31 + j * 17) % 13 - 6) + 0.25 * p;
}

int main(int argc, char **argv)
{
    int rank, m, reps, bad = 0;
    long k;
    double *x, *y, *secs, med, *all = NULL;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m);
    if (argc != 3 || (k = atol(argv[1])) < 0 || (reps = atoi(argv[2])) < 1) {
        if (rank == 0)
            fprintf(stderr, "usage: mpi_allreduce K R\n");
        MPI_Finalize();
        return 2;
    }
    x = malloc((size_t)(k + 1) * sizeof(*x));
    y = malloc((size_t)(k + 1) * sizeof(*y));
    secs = malloc((size_t)reps * sizeof(*secs));
    for (long j = 0; j < k; j++)
        x[j] = value_at(rank, j);
    for (int r = 0; r < reps; r++) {
        double t0;
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        MPI_Allreduce(x, y, (int)k, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        secs[r] = MPI_Wtime() - t0;
    }
    for (long j = 0; j < k && !bad; j++) {
        double want = 0;
        for (int p = 0; p < m; p++)
            want += value_at(p, j);
        bad = y[j] != want;
    }
    qsort(secs, (size_t)reps, sizeof(*secs), cmp_double);
    med = secs[reps / 2];
    if (rank == 0)
        all = malloc((size_t)m * sizeof(*all));
    MPI_Gather(&med, 1, MPI_DOUBLE, all, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0) {
        qsort(all, (size_t)m, sizeof(*all), cmp_double);
        if (bad)
            fprintf(stderr, "mpi_allreduce: wrong sum\n");
        else
            printf("seconds %.6f\n", all[m / 2]);
    }
    MPI_Finalize();
    return bad;
}
