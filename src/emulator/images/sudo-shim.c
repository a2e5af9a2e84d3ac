/* Passwordless sudo for the busybox test image, as GitHub-hosted runners give the runner user.
 * Installed setuid root; flags such as -E or -n are accepted and ignored. */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int i = 1;
  while (i < argc && argv[i][0] == '-') i++;
  if (i >= argc) {
    fprintf(stderr, "usage: sudo [-En] command [args...]\n");
    return 1;
  }
  if (setgid(0) != 0 || setuid(0) != 0) {
    perror("sudo: cannot become root");
    return 1;
  }
  execvp(argv[i], argv + i);
  perror(argv[i]);
  return 127;
}
