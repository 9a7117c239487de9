/* libdw-based symbolization (see symbolize.h).
 *
 * Each module is reported to its own offline Dwfl session
 * (dwfl_report_offline), which finds separate debug info the standard way
 * (build-id under /usr/lib/debug, .gnu_debuglink). The library records a
 * frame as PC - 1 minus the module's load bias (dl_iterate_phdr's
 * dlpi_addr): the address, in the ELF file's own terms, of the last byte of
 * the call instruction, whether the module is a PIE, a non-PIE executable
 * or a shared library. So the Dwfl address is that plus the bias libdwfl
 * chose when it laid the module out, and it looks up the line of the call
 * itself, not of the instruction after it. */
#define _GNU_SOURCE
#include "symbolize.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idmap.h"
#include "intern.h"
#include "util.h"

struct module {
    Dwfl *dwfl;                /* NULL if the file could not be opened as ELF */
    Dwfl_Module *mod;
    GElf_Addr bias;            /* Dwfl address = ELF address + bias */
};

static char *debuginfo_path;
static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

static struct idmap modules;   /* interned path -> struct module */
static struct idmap results;   /* hash(path, offset) -> struct cached */

struct cached {
    const char *module;
    uint64_t offset;
    struct cached *next;       /* hash collisions */
    const struct sym_result *result;
};

static struct module *open_module(const char *path)
{
    struct module *m = idmap_get(&modules, (uintptr_t)path);
    if (m)
        return m;
    m = xcalloc(1, sizeof *m);
    idmap_put(&modules, (uintptr_t)path, m);
    if (access(path, R_OK))
        return m;
    m->dwfl = dwfl_begin(&offline_callbacks);
    if (!m->dwfl)
        return m;
    m->mod = dwfl_report_offline(m->dwfl, path_basename(path), path, -1);
    dwfl_report_end(m->dwfl, NULL, NULL);
    Elf *elf = m->mod ? dwfl_module_getelf(m->mod, &m->bias) : NULL;
    if (!elf) {
        dwfl_end(m->dwfl);
        m->dwfl = NULL;
        m->mod = NULL;
    }
    return m;
}

static const char *die_name(Dwarf_Die *die)
{
    /* Through DW_AT_abstract_origin / DW_AT_specification: inlined
     * instances and out-of-line copies carry their name there. */
    Dwarf_Attribute attr;
    const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
    return name ? intern(name) : NULL;
}

/* The file and line an inlined instance was called from. */
static void call_site(Dwarf_Die *inl, const char **file, unsigned *line)
{
    Dwarf_Attribute attr;
    Dwarf_Word idx = 0, ln = 0;
    Dwarf_Die cu;
    Dwarf_Files *files;
    size_t nfiles;
    *file = NULL;
    *line = 0;
    if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &attr), &ln) == 0)
        *line = (unsigned)ln;
    if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &attr), &idx) == 0 &&
        dwarf_diecu(inl, &cu, NULL, NULL) &&
        dwarf_getsrcfiles(&cu, &files, &nfiles) == 0 && idx < nfiles) {
        const char *f = dwarf_filesrc(files, idx, NULL, NULL);
        *file = f ? intern(f) : NULL;
    }
}

#define MAX_LINES 64           /* deeper inlining than this is cut */

static size_t lookup(struct module *m, uint64_t offset, struct sym_line *out)
{
    if (!m->mod)
        return 0;
    Dwarf_Addr addr = offset + m->bias;
    size_t n = 0;

    /* The innermost file:line comes from the line table. */
    const char *file = NULL;
    int lineno = 0;
    Dwfl_Line *dl = dwfl_module_getsrc(m->mod, addr);
    if (dl) {
        const char *f = dwfl_lineinfo(dl, NULL, &lineno, NULL, NULL, NULL);
        file = f ? intern(f) : NULL;
    }

    /* The scopes at addr, innermost first. dwarf_getscopes follows an
     * inlined instance into its abstract definition, so only its innermost
     * scope is used: dwarf_getscopes_die then gives the physical nesting
     * (lexical blocks, inlined instances, the real function). Each inlined
     * instance is a frame of its own, at the line being executed; the
     * function it was inlined into is at the call site the instance
     * records. */
    Dwarf_Addr cubias;
    Dwarf_Die *cudie = dwfl_module_addrdie(m->mod, addr, &cubias);
    Dwarf_Die *scopes = NULL;
    int nscopes = cudie ? dwarf_getscopes(cudie, addr - cubias, &scopes) : 0;
    if (nscopes > 0) {
        Dwarf_Die innermost = scopes[0];
        free(scopes);
        scopes = NULL;
        nscopes = dwarf_getscopes_die(&innermost, &scopes);
    }
    unsigned line = lineno > 0 ? (unsigned)lineno : 0;
    for (int i = 0; i < nscopes && n < MAX_LINES; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine &&
            tag != DW_TAG_entry_point)
            continue;
        out[n++] = (struct sym_line){ die_name(&scopes[i]), file, line };
        if (tag != DW_TAG_inlined_subroutine)
            break;
        call_site(&scopes[i], &file, &line);
    }
    free(scopes);

    /* The symbol table names what DWARF does not describe (no debug
     * info, or assembly): as the outermost function, or the only one. */
    GElf_Off symoff;
    GElf_Sym sym;
    const char *symname = dwfl_module_addrinfo(m->mod, addr, &symoff, &sym, NULL, NULL, NULL);
    if (n == 0)
        out[n++] = (struct sym_line){ NULL, file, line };
    if (!out[n - 1].function && symname)
        out[n - 1].function = intern(symname);
    return n;
}

const struct sym_result *symbolize(const char *module, uint64_t offset)
{
    module = intern(module);
    uint64_t key = hash_bytes(&offset, sizeof offset, (uintptr_t)module * 0x9e3779b97f4a7c15ULL);
    struct cached *head = idmap_get(&results, key);
    for (struct cached *c = head; c; c = c->next)
        if (c->module == module && c->offset == offset)
            return c->result;

    struct sym_line lines[MAX_LINES];
    size_t n = lookup(open_module(module), offset, lines);
    if (n == 0)
        lines[n++] = (struct sym_line){ NULL, NULL, 0 };
    struct sym_result *r = xmalloc(sizeof *r + n * sizeof r->lines[0]);
    r->n = n;
    memcpy(r->lines, lines, n * sizeof lines[0]);

    struct cached *c = xmalloc(sizeof *c);
    *c = (struct cached){ module, offset, head, r };
    idmap_put(&results, key, c);
    return r;
}
