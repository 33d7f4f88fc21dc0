// Which segment layout syncs fastest on this disk: a growing file, an fallocate'd one, or a
// zero-filled one. Each writes groups of GROUP records of ~220 bytes and fdatasyncs after each,
// as the write node does. docs/STORAGE.md has the figures.
//
//   gcc -O2 -o /tmp/log-layout scripts/probes/log-layout.c
//   /tmp/log-layout grow|fallocate|zero GROUP SYNCS [DIR]     e.g. /tmp/log-layout zero 16 2000 .
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s grow|fallocate|zero GROUP SYNCS [DIR]\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    int group = atoi(argv[2]), syncs = atoi(argv[3]);
    size_t size = (size_t)256 << 20;
    char path[4096];
    snprintf(path, sizeof path, "%s/.probe-log-layout", argc > 4 ? argv[4] : ".");
    unlink(path);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror("open"); return 1; }
    if (!strcmp(mode, "fallocate") && fallocate(fd, 0, 0, size) != 0) { perror("fallocate"); return 1; }
    if (!strcmp(mode, "zero")) {
        char *zeros = calloc(1, 1 << 20);
        for (size_t offset = 0; offset < size; offset += 1 << 20) pwrite(fd, zeros, 1 << 20, offset);
    }
    fsync(fd);
    size_t bytes = (size_t)group * 220;
    char *buffer = malloc(bytes);
    memset(buffer, 'x', bytes);
    off_t offset = 0;
    double start = now();
    for (int i = 0; i < syncs; i++) {
        if (pwrite(fd, buffer, bytes, offset) != (ssize_t)bytes || fdatasync(fd) != 0) { perror("write"); return 1; }
        offset += bytes;
    }
    double seconds = now() - start;
    printf("%s group=%d: %.0f syncs/s, %.0f events/s\n", mode, group, syncs / seconds, syncs * group / seconds);
    close(fd);
    unlink(path);
    return 0;
}
