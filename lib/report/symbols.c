/* Function names for the readable report, from each module's own ELF
 * symbol table (.symtab when present, else .dynsym): that names static
 * functions and executables built without -rdynamic, which dladdr cannot,
 * and works for a library dlclose'd since its stacks were recorded, since
 * only the file is read. dladdr is the fallback for modules that are not
 * files (the vDSO). Runs at report time, outside any stopped world; the
 * files are mapped read-only and unmapped when the report is done. */
#define _GNU_SOURCE
#include "symbols.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../heap/os.h"
#include "stack.h"

struct symfile {
    int state;                 /* 0 not tried, 1 usable, -1 no symbols */
    const char *map;
    size_t size;
    const ElfW(Sym) *syms;
    size_t nsyms;
    const char *strs;
    size_t strsize;
    /* The function symbols sorted by address: a report names thousands of
     * frames, and libraries have tens of thousands of symbols. */
    const ElfW(Sym) **funcs;
    size_t nfuncs, funcs_bytes;
};

static struct symfile *files;      /* by module id */
static size_t nfiles, files_bytes;

static int in_file(const struct symfile *f, uint64_t off, uint64_t len)
{
    return off <= f->size && len <= f->size - off;
}

/* Finds the symbol table of the mapped ELF file f; 0 on success. */
static int parse(struct symfile *f)
{
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)f->map;
    if (f->size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
        eh->e_shentsize != sizeof(ElfW(Shdr)) ||
        !in_file(f, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(ElfW(Shdr))))
        return -1;
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(f->map + eh->e_shoff);
    const ElfW(Shdr) *best = NULL;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type == SHT_SYMTAB || (sh[i].sh_type == SHT_DYNSYM && !best))
            best = &sh[i];
    }
    if (!best || best->sh_entsize != sizeof(ElfW(Sym)) || best->sh_link >= eh->e_shnum ||
        !in_file(f, best->sh_offset, best->sh_size))
        return -1;
    const ElfW(Shdr) *str = &sh[best->sh_link];
    if (!in_file(f, str->sh_offset, str->sh_size))
        return -1;
    f->syms = (const ElfW(Sym) *)(f->map + best->sh_offset);
    f->nsyms = best->sh_size / sizeof(ElfW(Sym));
    f->strs = f->map + str->sh_offset;
    f->strsize = str->sh_size;
    return 0;
}

static int is_func(const struct symfile *f, const ElfW(Sym) *s)
{
    unsigned type = ELF64_ST_TYPE(s->st_info);
    return (type == STT_FUNC || type == STT_GNU_IFUNC) && s->st_shndx != SHN_UNDEF &&
           s->st_name < f->strsize && f->strs[s->st_name];
}

/* Address order; at one address a global name first (it reads better
 * than a local alias). */
static int func_before(const ElfW(Sym) *a, const ElfW(Sym) *b)
{
    if (a->st_value != b->st_value)
        return a->st_value < b->st_value;
    return ELF64_ST_BIND(a->st_info) == STB_GLOBAL && ELF64_ST_BIND(b->st_info) != STB_GLOBAL;
}

static void sift(const ElfW(Sym) **v, size_t i, size_t n)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && func_before(v[c], v[c + 1]))
            c++;
        if (!func_before(v[i], v[c]))
            return;
        const ElfW(Sym) *t = v[i];
        v[i] = v[c];
        v[c] = t;
        i = c;
    }
}

static int index_funcs(struct symfile *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nsyms; i++)
        n += is_func(f, &f->syms[i]);
    if (!n)
        return -1;
    f->funcs_bytes = n * sizeof *f->funcs;
    f->funcs = os_map(f->funcs_bytes);
    if (!f->funcs)
        return -1;
    for (size_t i = 0; i < f->nsyms; i++)
        if (is_func(f, &f->syms[i]))
            f->funcs[f->nfuncs++] = &f->syms[i];
    for (size_t i = n / 2; i-- > 0;)
        sift(f->funcs, i, n);
    for (size_t end = n; end-- > 1;) {
        const ElfW(Sym) *t = f->funcs[0];
        f->funcs[0] = f->funcs[end];
        f->funcs[end] = t;
        sift(f->funcs, 0, end);
    }
    return 0;
}

static void open_file(struct symfile *f, const char *path)
{
    f->state = -1;
    int saved = errno;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            f->map = m;
            f->size = (size_t)st.st_size;
            /* The string table must end in NUL for names to be read safely. */
            if (parse(f) == 0 && f->strsize && f->strs[f->strsize - 1] == '\0' &&
                index_funcs(f) == 0) {
                f->state = 1;
            } else {
                munmap(m, f->size);
                f->map = NULL;
            }
        }
    }
    if (fd >= 0)
        close(fd);
    errno = saved;
}

static const char *from_file(const struct symfile *f, uint64_t off)
{
    /* The last function starting at or before off... */
    size_t lo = 0, hi = f->nfuncs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (f->funcs[mid]->st_value <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* ...or, when it ends before off (a nested or zero-sized symbol), one
     * a little earlier that still covers it. Among several at one address
     * the first in order (a global) is taken. */
    for (size_t k = lo, seen = 0; k-- > 0 && seen < 16; seen++) {
        const ElfW(Sym) *s = f->funcs[k];
        while (k > 0 && f->funcs[k - 1]->st_value == s->st_value)
            s = f->funcs[--k];
        if (off - s->st_value < (s->st_size ? s->st_size : 1))
            return f->strs + s->st_name;
    }
    return NULL;
}

const char *sym_lookup(uint32_t mid, uint64_t offset)
{
    if (!mid)
        return NULL;
    if (!files) {
        nfiles = (size_t)stack_module_count() + 64;
        files_bytes = nfiles * sizeof *files;
        files = os_map(files_bytes);
        if (!files)
            return NULL;
    }
    const char *path = stack_module_path(mid);
    if (mid < nfiles) {
        struct symfile *f = &files[mid];
        if (!f->state)
            open_file(f, path);
        if (f->state > 0)
            return from_file(f, offset);
    }
    /* Not a readable file: ask the loader, if the module is still there. */
    Dl_info info;
    void *pc = (void *)(stack_module_bias(mid) + offset);
    if (dladdr(pc, &info) && info.dli_sname && info.dli_fname && !strcmp(info.dli_fname, path))
        return info.dli_sname;
    return NULL;
}

void sym_release(void)
{
    if (!files)
        return;
    for (size_t i = 0; i < nfiles; i++) {
        if (files[i].map)
            munmap((void *)files[i].map, files[i].size);
        if (files[i].funcs)
            os_unmap(files[i].funcs, files[i].funcs_bytes);
    }
    os_unmap(files, files_bytes);
    files = NULL;
    nfiles = 0;
}
