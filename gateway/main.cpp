// herald: entry point. Parses the configuration, starts the broker, the stream
// listener and the api listener, and runs until SIGTERM/SIGINT.
#include <cstdio>

int main() {
  std::puts("herald: not yet wired");
  return 0;
}
