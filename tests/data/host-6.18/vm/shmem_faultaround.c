#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
static long field(const char *k){FILE*f=fopen("/proc/self/status","r");char l[256];long v=-1;while(fgets(l,sizeof l,f))if(!strncmp(l,k,strlen(k)))v=atol(l+strlen(k)+1);fclose(f);return v;}
int main(){
  size_t n=64*4096;
  char *p=mmap((void*)0x7e0000000000,n,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE,-1,0);
  if(fork()==0){memset(p,1,n);_exit(0);}
  wait(0);
  long a=field("RssShmem");
  volatile char c=p[20*4096];(void)c;
  long b=field("RssShmem");
  printf("shared anon: RssShmem before %ld after %ld kB\n",a,b);
  return 0;
}
