/* PATH lookup and the static-binary check (see prog.h). */
#define _GNU_SOURCE
#include "prog.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static int executable_file(const char *path)
{
    struct stat st;
    if (stat(path, &st))
        return -1;
    if (S_ISDIR(st.st_mode) || access(path, X_OK)) {
        errno = EACCES;
        return -1;
    }
    return 0;
}

char *prog_resolve(const char *name)
{
    if (!*name) {
        errno = ENOENT;
        return NULL;
    }
    if (strchr(name, '/'))
        return executable_file(name) ? NULL : xstrdup(name);
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    int denied = 0;
    for (const char *p = path;; p++) {
        const char *end = strchrnul(p, ':');
        /* An empty element means the current directory, as for execvp. */
        char *cand = end == p ? xasprintf("./%s", name)
                              : xasprintf("%.*s/%s", (int)(end - p), p, name);
        if (!executable_file(cand))
            return cand;
        denied |= errno == EACCES;
        free(cand);
        if (!*end)
            break;
        p = end;
    }
    errno = denied ? EACCES : ENOENT;
    return NULL;
}

/* ld.so run as a program ("ld-linux-x86-64.so.2 ./prog") has no
 * interpreter either, yet it honours LD_PRELOAD for the program it loads. */
static int is_dynamic_loader(const char *path)
{
    const char *b = path_basename(path);
    return !strncmp(b, "ld-linux", 8) || !strncmp(b, "ld.so", 5) || !strncmp(b, "ld64.so", 7) ||
           !strncmp(b, "ld-musl", 7);
}

static enum link_kind elf_kind(int fd, const unsigned char *ident)
{
    union { Elf64_Ehdr e64; Elf32_Ehdr e32; } h;
    if (pread(fd, &h, sizeof h, 0) < (ssize_t)sizeof h.e32)
        return LINK_UNKNOWN;
    int is64 = ident[EI_CLASS] == ELFCLASS64;
    uint64_t phoff = is64 ? h.e64.e_phoff : h.e32.e_phoff;
    unsigned phnum = is64 ? h.e64.e_phnum : h.e32.e_phnum;
    unsigned phentsize = is64 ? h.e64.e_phentsize : h.e32.e_phentsize;
    if (phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || phnum == PN_XNUM)
        return LINK_UNKNOWN;
    for (unsigned i = 0; i < phnum; i++) {
        union { Elf64_Phdr p64; Elf32_Phdr p32; } ph;
        if (pread(fd, &ph, phentsize < sizeof ph ? phentsize : sizeof ph,
                  (off_t)(phoff + (uint64_t)i * phentsize)) <= 0)
            return LINK_UNKNOWN;
        if ((is64 ? ph.p64.p_type : ph.p32.p_type) == PT_INTERP)
            return LINK_DYNAMIC;
    }
    return LINK_STATIC;
}

static enum link_kind kind_at(const char *path, int depth)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return LINK_UNKNOWN;
    unsigned char head[256] = { 0 };
    ssize_t n = pread(fd, head, sizeof head - 1, 0);
    enum link_kind k = LINK_UNKNOWN;
    if (n >= EI_NIDENT && !memcmp(head, ELFMAG, SELFMAG) &&
        (head[EI_CLASS] == ELFCLASS64 || head[EI_CLASS] == ELFCLASS32) &&
        head[EI_DATA] == (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB)) {
        k = elf_kind(fd, head);
        if (k == LINK_STATIC && is_dynamic_loader(path))
            k = LINK_DYNAMIC;
    } else if (n > 2 && head[0] == '#' && head[1] == '!' && depth < 4) {
        /* The kernel runs the interpreter named on the first line. */
        char *p = (char *)head + 2;
        p += strspn(p, " \t");
        p[strcspn(p, " \t\n")] = '\0';
        if (*p == '/')
            k = kind_at(p, depth + 1);
    }
    close(fd);
    return k;
}

enum link_kind prog_link_kind(const char *path)
{
    return kind_at(path, 0);
}
