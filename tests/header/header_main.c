/* Every public header was compiled alone (as C and C++) to build this program. */
#include <stdio.h>
int main(void)
{
  puts("header test: every public header compiled alone as C and C++");
  return 0;
}
