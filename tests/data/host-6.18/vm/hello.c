/* hello.c - a small dynamically linked C program that prints once and then sleeps, so that
 * its process image can be captured from outside.
 * Build: gcc -O0 -Wall -o /tmp/vmcap/hello hello.c */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("hello\n");
	fflush(stdout);
	for (;;)
		pause();
}
