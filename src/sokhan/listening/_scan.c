/*
 * sokhan.listening._scan: the listening matcher's per-post hot loop in C.
 *
 * The pure-Python matcher (sokhan/listening/matcher.py) is the reference; this module does the same
 * work without a Python-level step per character or per hit:
 *
 *   fold(text)   sokhan.core.text.fold_with_joins, character for character: NFC, the Arabic-to-Persian
 *                letter map, digits of every script to 0-9, diacritics / tatweel / invisible
 *                characters removed, the half-space look-alike and ZWJ rules, whitespace runs to one
 *                space, full case folding (str.casefold), ZWNJ removed while recording where it stood.
 *   Engine       the terms of all queries as a trie, walked from where a term can start; the
 *                boundary rules (is_whole_word with the ZWNJ begin/end rule, hashtags, accounts);
 *                the evaluation of the compiled queries (AND/OR/NOT, lang:, channel:); per post
 *                (match), per batch (match_items) or per UTF-8 buffer of lines (match_lines,
 *                optionally on several threads without the GIL).
 *
 * Two paths. Most posts go through one loop that decodes, folds and walks the trie at once
 * (fast_fold). A post with a rare character takes the separate passes (pass_a, pass_lookalikes,
 * pass_zwj, pass_d: fold_source), which implement every rule, then the same walks over the result.
 *
 * Exactness. Every per-character property comes from the running Python's own Unicode database:
 * str.isspace/isalnum (Py_UNICODE_IS*), unicodedata.category (combining marks), str.casefold (a
 * table built once at import for the BMP; astral characters outside the emoji blocks ask Python
 * per character). Two things are left to Python because they are rare and their rules are large:
 * presentation forms (FB50-FDFF, FE70-FEFE, which Python folds with NFKC: the Engine calls the
 * fallback fold it was given for such a text), and NFC, which is checked with
 * unicodedata.is_normalized only when a character outside ranges known to be NFC-inert occurs
 * (NFC_SAFE below; the tests check those ranges against unicodedata) and then applied with
 * unicodedata.normalize. tests/listening/test_scan_equivalence.py compares everything with the
 * pure-Python engine.
 *
 * State. The Unicode tables are built in the module's exec slot and read-only afterwards (module
 * state, no C globals). An Engine is not thread-safe (like Matcher); it refuses to be re-entered
 * from a Python callback (a key's __hash__, a lazily read language) with RuntimeError. Arrays grow
 * through grow()/wgrow(), which check sizes for overflow; allocation failures raise MemoryError
 * (or, on a worker thread without the GIL, are reported to the calling thread, which raises it).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* ----------------------------------------------------------------------------------------------
 * Character constants and small predicates
 * -------------------------------------------------------------------------------------------- */

#define ZWNJ 0x200C
#define ZWJ 0x200D

/* Flags per BMP code point (ModState.tables->flags). */
#define F_SPACE 0x01   /* str.isspace() */
#define F_WORD 0x02    /* sokhan.core.text.is_word_char: isalnum, "_" or a combining mark */
#define F_UNSAFE 0x04  /* might change under NFC (outside NFC_SAFE, code point >= U+0300) */
#define F_FOLDS 0x08   /* str.casefold() changes it */
#define F_SPECIAL 0x10 /* the per-character map of _fold_chars or a separator touches it */

#define FOLD_MULTI 0x80000000u /* tables->fold[c]: index into tables->multi instead of a code point */

/* Code points >= U+0300 that are NFC-inert: canonical combining class 0, NFC quick check Yes and
 * never the second character of a canonical composition. A text made of these and of characters
 * below U+0300 is already NFC. Computed from Unicode 15.0; tests/listening/test_scan_equivalence.py
 * re-checks it against the running Python's unicodedata. */
static const Py_UCS4 NFC_SAFE[][2] = {
    {0x0370, 0x0373}, {0x0375, 0x037D}, {0x037F, 0x0386}, {0x0388, 0x03FF}, {0x0400, 0x0482},
    {0x0488, 0x052F}, {0x0600, 0x060F}, {0x061B, 0x064A}, {0x0660, 0x066F}, {0x0671, 0x06D5},
    {0x06DD, 0x06DE}, {0x06E5, 0x06E6}, {0x06E9, 0x06E9}, {0x06EE, 0x06FF}, {0x0750, 0x077F},
    {0x1E00, 0x1EFF}, {0x2002, 0x20CF}, {0x20F1, 0x2125}, {0x2127, 0x2129}, {0x212C, 0x2328},
    {0x232B, 0x2ADB}, {0x2ADD, 0x2BFF}, {0x3000, 0x3029}, {0x3030, 0x303F}, {0xFE00, 0xFE0F},
    {0x1F000, 0x1FBFF}, {0xE0000, 0xE007F},
};
#define N_NFC_SAFE ((Py_ssize_t)(sizeof(NFC_SAFE) / sizeof(NFC_SAFE[0])))

/* Emoji and pictograph blocks: no case, no combining marks, NFC-inert (checked by the tests).
 * Astral characters outside it ask Python for casefold and category. */
#define EMOJI_FIRST 0x1F000
#define EMOJI_LAST 0x1FBFF

static int
nfc_safe_range(Py_UCS4 c)
{
    if (c < 0x300) {
        return 1;
    }
    for (Py_ssize_t i = 0; i < N_NFC_SAFE; i++) {
        if (c < NFC_SAFE[i][0]) {
            return 0;
        }
        if (c <= NFC_SAFE[i][1]) {
            return 1;
        }
    }
    return 0;
}

/* Arabic presentation forms: Python folds them with NFKC (not done here). U+FEFF is left out: it has
 * no decomposition, so NFKC leaves it alone and the letter map removes it. */
static inline int
is_presentation(Py_UCS4 c)
{
    return (c >= 0xFB50 && c <= 0xFDFF) || (c >= 0xFE70 && c <= 0xFEFE);
}

/* sokhan.core.text._AR_LETTER: the letters a half space sits between. */
static inline int
is_ar_letter(Py_UCS4 c)
{
    if (c < 0x620 || c > 0x6FF) {
        return 0;
    }
    return c <= 0x63F || (c >= 0x641 && c <= 0x64A) || c == 0x66E || c == 0x66F ||
           (c >= 0x671 && c <= 0x6D3) || c == 0x6D5 || c == 0x6EE || c == 0x6EF ||
           (c >= 0x6FA && c <= 0x6FC) || c == 0x6FF;
}

/* Half-space look-alikes (_LOOKALIKE's class minus ZWNJ). */
static inline int
is_lookalike(Py_UCS4 c)
{
    return c == 0x200B || c == 0x200E || c == 0x200F || c == 0x061C;
}

/* matcher._NOT_BEFORE_ACCOUNT and _HANDLE_CHARS */
static inline int
not_before_account(Py_UCS4 c)
{
    return c == '@' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '*' || c == '.';
}

static inline int
is_handle_char(Py_UCS4 c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* The special characters of pass A. */
#define SEP_LOOKALIKE 0x01
#define SEP_ZWJ 0x02
#define SEP_PRESENTATION 0x04
#define MAP_DROP 0xFFFFFFFFu

/* _fold_chars' map (letters, digits, diacritics, tatweel, invisible characters); returns the new
 * code point or MAP_DROP, and notes separators that later passes must see. */
static inline Py_UCS4
map_special(Py_UCS4 c, int *seen)
{
    switch (c) {
    case 0x064A: /* ي Arabic yeh */
    case 0x0649: /* ى alef maksura */
        return 0x06CC;
    case 0x0643: /* ك Arabic kaf */
        return 0x06A9;
    case 0x0629: /* ة teh marbuta */
    case 0x06C0: /* ۀ heh with yeh above */
    case 0x06BE: /* ھ heh doachashmee */
        return 0x0647;
    case 0x0623: /* أ */
    case 0x0625: /* إ */
    case 0x0671: /* ٱ alef wasla */
        return 0x0627;
    case 0x0640: /* tatweel */
    case 0x00AD: /* soft hyphen */
    case 0x2060: /* word joiner */
    case 0xFEFF: /* BOM */
    case 0x0670: /* superscript alef */
        return MAP_DROP;
    case 0x200B:
    case 0x200E:
    case 0x200F:
    case 0x061C:
        *seen |= SEP_LOOKALIKE;
        return c;
    case ZWJ:
        *seen |= SEP_ZWJ;
        return c;
    case ZWNJ:
        return c;
    default:
        break;
    }
    if (c >= 0x06F0 && c <= 0x06F9) {
        return '0' + (c - 0x06F0);
    }
    if (c >= 0x0660 && c <= 0x0669) {
        return '0' + (c - 0x0660);
    }
    if (c >= 0x064B && c <= 0x065F) { /* harakat */
        return MAP_DROP;
    }
    if (is_presentation(c)) {
        *seen |= SEP_PRESENTATION;
        return c;
    }
    return c;
}

static int
is_special(Py_UCS4 c)
{
    int seen = 0;
    return map_special(c, &seen) != c || seen != 0 || c == ZWNJ;
}

/* ----------------------------------------------------------------------------------------------
 * Module state: Unicode tables (built once, read-only afterwards) and unicodedata functions
 * -------------------------------------------------------------------------------------------- */

/* The fast path's view of a code point below LOW_LIMIT (ASCII, Latin, Greek, Cyrillic, Arabic
 * and Persian): one 64-bit load gives what pass A and pass D make of it and, in a Trie's copy, its
 * symbol. bits 0-20: the folded character; LOW_SLOW: anything else than "write the folded
 * character" (removed, a separator, NFC-unsafe, multi-character folding: take the general path);
 * LOW_SPACE: whitespace; LOW_WORD: the folded character is a word character; bits 32-63: symbol. */
#define LOW_LIMIT 0x800
#define LOW_SLOW (1ull << 21)
#define LOW_SPACE (1ull << 22)
#define LOW_WORD (1ull << 23)
#define LOW_CHAR(e) ((Py_UCS4)((e) & 0x1FFFFF))
#define LOW_SYM(e) ((int32_t)((e) >> 32))

typedef struct {
    uint8_t flags[0x10000];
    uint32_t fold[0x10000];
    uint64_t low[LOW_LIMIT]; /* without symbols */
    uint32_t (*multi)[4]; /* [length, up to 3 code points] */
    Py_ssize_t nmulti;
} Tables;

typedef struct {
    Tables *tables;
    PyObject *category;      /* unicodedata.category */
    PyObject *is_normalized; /* unicodedata.is_normalized */
    PyObject *normalize;     /* unicodedata.normalize */
    PyObject *nfc;           /* "NFC" */
    PyObject *engine_type;
} ModState;

static inline ModState *
get_state(PyObject *module)
{
    return (ModState *)PyModule_GetState(module);
}

/* unicodedata.category(c)[0] == "M": 1, 0, or -1 with an exception. */
static int
call_is_mark(ModState *st, Py_UCS4 c)
{
    PyObject *ch = PyUnicode_FromOrdinal((int)c);
    if (ch == NULL) {
        return -1;
    }
    PyObject *cat = PyObject_CallOneArg(st->category, ch);
    Py_DECREF(ch);
    if (cat == NULL) {
        return -1;
    }
    int result = PyUnicode_Check(cat) && PyUnicode_GET_LENGTH(cat) > 0 && PyUnicode_READ_CHAR(cat, 0) == 'M';
    Py_DECREF(cat);
    return result;
}

/* is_word_char for any code point: 1, 0, or -1 with an exception. */
static inline int
word_char(ModState *st, Py_UCS4 c)
{
    if (c < 0x10000) {
        return (st->tables->flags[c] & F_WORD) != 0;
    }
    if (Py_UNICODE_ISALNUM(c)) {
        return 1;
    }
    if (c >= EMOJI_FIRST && c <= EMOJI_LAST) {
        return 0;
    }
    return call_is_mark(st, c);
}

static int
build_tables(ModState *st)
{
    Tables *t = PyMem_RawCalloc(1, sizeof(Tables));
    if (t == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    st->tables = t;

    /* Case folding of the whole BMP with one call: "\x01\0\x02\0...".casefold(), split on NUL
     * (no character folds to or from NUL). */
    Py_ssize_t count = 0xFFFF;
    Py_UCS4 *all = PyMem_Malloc(sizeof(Py_UCS4) * (size_t)count * 2);
    if (all == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        all[2 * i] = (Py_UCS4)(i + 1);
        all[2 * i + 1] = 0;
    }
    PyObject *joined = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, all, count * 2);
    PyMem_Free(all);
    if (joined == NULL) {
        return -1;
    }
    PyObject *folded = PyObject_CallMethod(joined, "casefold", NULL);
    Py_DECREF(joined);
    if (folded == NULL) {
        return -1;
    }
    Py_ssize_t flen = PyUnicode_GET_LENGTH(folded);
    int fkind = PyUnicode_KIND(folded);
    const void *fdata = PyUnicode_DATA(folded);

    /* Two passes over the folded string: count the expansions, then fill. */
    for (int pass = 0; pass < 2; pass++) {
        Py_ssize_t pos = 0, nmulti = 0;
        t->fold[0] = 0;
        for (Py_UCS4 c = 1; c <= 0xFFFF; c++) {
            Py_ssize_t start = pos;
            while (pos < flen && PyUnicode_READ(fkind, fdata, pos) != 0) {
                pos++;
            }
            Py_ssize_t len = pos - start;
            pos++; /* the NUL */
            if (len < 1 || len > 3) {
                Py_DECREF(folded);
                PyErr_Format(PyExc_RuntimeError, "unexpected casefold of U+%04X", (unsigned)c);
                return -1;
            }
            if (len == 1) {
                t->fold[c] = PyUnicode_READ(fkind, fdata, start);
            }
            else {
                if (pass == 1) {
                    t->multi[nmulti][0] = (uint32_t)len;
                    for (Py_ssize_t k = 0; k < len; k++) {
                        t->multi[nmulti][1 + k] = PyUnicode_READ(fkind, fdata, start + k);
                    }
                    t->fold[c] = FOLD_MULTI | (uint32_t)nmulti;
                }
                nmulti++;
            }
        }
        if (pass == 0) {
            t->nmulti = nmulti;
            t->multi = PyMem_RawCalloc((size_t)(nmulti > 0 ? nmulti : 1), sizeof(*t->multi));
            if (t->multi == NULL) {
                Py_DECREF(folded);
                PyErr_NoMemory();
                return -1;
            }
        }
    }
    Py_DECREF(folded);

    for (Py_UCS4 c = 0; c <= 0xFFFF; c++) {
        uint8_t f = 0;
        if (Py_UNICODE_ISSPACE(c)) {
            f |= F_SPACE;
        }
        if (Py_UNICODE_ISALNUM(c) || c == '_') {
            f |= F_WORD;
        }
        else if (!(c >= 0xD800 && c <= 0xDFFF) && !(c >= 0xE000 && c <= 0xF8FF) && c >= 0x80) {
            /* surrogates (Cs) and private use (Co) are not marks; ASCII has none */
            int mark = call_is_mark(st, c);
            if (mark < 0) {
                return -1;
            }
            if (mark) {
                f |= F_WORD;
            }
        }
        if (!nfc_safe_range(c)) {
            f |= F_UNSAFE;
        }
        if (t->fold[c] != c) {
            f |= F_FOLDS;
        }
        if (is_special(c)) {
            f |= F_SPECIAL;
        }
        t->flags[c] = f;
    }
    for (Py_UCS4 c = 0; c < LOW_LIMIT; c++) {
        uint8_t f = t->flags[c];
        uint64_t e;
        if (f & F_SPACE) {
            e = LOW_SPACE | c;
        }
        else if (f & F_UNSAFE) {
            e = LOW_SLOW;
        }
        else if (f & F_SPECIAL) {
            int seen = 0;
            Py_UCS4 m = map_special(c, &seen);
            /* a mapped letter or digit (no case); a removed character takes the general path */
            e = (seen || m == MAP_DROP) ? LOW_SLOW : (uint64_t)m | ((t->flags[m] & F_WORD) ? LOW_WORD : 0);
        }
        else if (f & F_FOLDS) {
            uint32_t v = t->fold[c];
            e = (v & FOLD_MULTI) ? LOW_SLOW : (uint64_t)v | ((v < 0x10000 && (t->flags[v] & F_WORD)) ? LOW_WORD : 0);
        }
        else {
            e = (uint64_t)c | ((f & F_WORD) ? LOW_WORD : 0);
        }
        t->low[c] = e;
    }
    return 0;
}

/* ----------------------------------------------------------------------------------------------
 * Growable arrays with checked sizes
 * -------------------------------------------------------------------------------------------- */

/* Make *buf hold at least `need` items of `size` bytes. 0, or -1 with MemoryError. */
static int
grow(void **buf, Py_ssize_t *cap, Py_ssize_t need, size_t size)
{
    if (need <= *cap) {
        return 0;
    }
    if (need < 0 || (size_t)need > (size_t)PY_SSIZE_T_MAX / size / 2) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t n = *cap > 0 ? *cap : 16;
    while (n < need) {
        n *= 2;
    }
    void *p = PyMem_Realloc(*buf, (size_t)n * size);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *buf = p;
    *cap = n;
    return 0;
}

#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* ----------------------------------------------------------------------------------------------
 * Folding
 * -------------------------------------------------------------------------------------------- */

/* Scratch buffers for one call (reused across the posts of a batch). */
typedef struct {
    Py_UCS4 *a; /* after the character map and the separator rules */
    Py_ssize_t a_cap, a_len;
    Py_UCS4 *f; /* the folded text */
    Py_ssize_t f_cap, f_len;
    Py_ssize_t *joins; /* positions in f where a half space was removed, ascending */
    Py_ssize_t joins_cap, joins_len;
    uint8_t *joined; /* joined[i] for 0 <= i <= f_len when joins_len > 0 */
    Py_ssize_t joined_cap;
    int nogil; /* running without the GIL: note allocation failures in oom, raise nothing */
    int oom;
    int32_t *hits; /* entries hit by this post */
    Py_ssize_t hits_cap, hits_len;
    Py_ssize_t *starts; /* positions in f where a key could start */
    Py_ssize_t starts_cap, starts_len;
    struct Candidate *cands; /* keys found by the trie walks, before the boundary rules */
    Py_ssize_t cands_cap, cands_len;
} Work;

typedef struct Candidate {
    int32_t state;  /* the trie state where the keys end */
    Py_ssize_t end; /* the folded text's length at that point */
} Candidate;

static void
work_free(Work *w)
{
    PyMem_RawFree(w->a);
    PyMem_RawFree(w->f);
    PyMem_RawFree(w->joins);
    PyMem_RawFree(w->joined);
    PyMem_RawFree(w->hits);
    PyMem_RawFree(w->cands);
    PyMem_RawFree(w->starts);
    memset(w, 0, sizeof(*w));
}

/* grow() for a Work's buffers: the raw allocator (usable without the GIL). */
static int
wgrow(Work *w, void **buf, Py_ssize_t *cap, Py_ssize_t need, size_t size)
{
    if (need <= *cap) {
        return 0;
    }
    if (need < 0 || (size_t)need > (size_t)PY_SSIZE_T_MAX / size / 2) {
        goto fail;
    }
    Py_ssize_t n = *cap > 0 ? *cap : 16;
    while (n < need) {
        n *= 2;
    }
    void *p = PyMem_RawRealloc(*buf, (size_t)n * size);
    if (p == NULL) {
        goto fail;
    }
    *buf = p;
    *cap = n;
    return 0;
fail:
    if (w->nogil) {
        w->oom = 1;
    }
    else {
        PyErr_NoMemory();
    }
    return -1;
}

#define WGROW(w, arr, cap, need) wgrow((w), (void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* A text to fold: a str (kind 1/2/4) or a UTF-8 line (SOURCE_UTF8). */
#define SOURCE_UTF8 0
typedef struct {
    int kind;
    const void *data;
    Py_ssize_t n; /* code points, or bytes for UTF-8 */
    PyObject *obj; /* the str, if there is one (borrowed) */
} Source;

#define A_LOOKALIKE SEP_LOOKALIKE
#define A_ZWJ SEP_ZWJ
#define A_PRESENTATION SEP_PRESENTATION
#define A_NFC 0x08

/* One character through pass A. */
#define PASS_A_CHAR(c)                                                 \
    do {                                                               \
        if ((c) < 0x80) {                                              \
            out[o++] = (c);                                            \
        }                                                              \
        else if ((c) < 0x10000) {                                      \
            uint8_t fl_ = flags[(c)];                                  \
            if (fl_ & F_UNSAFE) {                                      \
                seen |= A_NFC;                                         \
            }                                                          \
            if (fl_ & F_SPECIAL) {                                     \
                Py_UCS4 m_ = map_special((c), &seen);                  \
                if (m_ != MAP_DROP) {                                  \
                    out[o++] = m_;                                     \
                }                                                      \
            }                                                          \
            else {                                                     \
                out[o++] = (c);                                        \
            }                                                          \
        }                                                              \
        else {                                                         \
            if (!((c) >= EMOJI_FIRST && (c) <= EMOJI_LAST) && !nfc_safe_range(c)) { \
                seen |= A_NFC;                                         \
            }                                                          \
            out[o++] = (c);                                            \
        }                                                              \
    } while (0)

/* Decode one UTF-8 code point strictly (as bytes.decode("utf-8") accepts). Returns the number of
 * bytes, or 0 for an invalid sequence. */
static inline __attribute__((always_inline)) int
utf8_next(const unsigned char *s, Py_ssize_t left, Py_UCS4 *out)
{
    unsigned char b0 = s[0];
    if (b0 < 0x80) {
        *out = b0;
        return 1;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        if (left < 2 || (s[1] & 0xC0) != 0x80) {
            return 0;
        }
        *out = ((Py_UCS4)(b0 & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (left < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) {
            return 0;
        }
        if ((b0 == 0xE0 && s[1] < 0xA0) || (b0 == 0xED && s[1] > 0x9F)) {
            return 0; /* overlong, or a surrogate */
        }
        *out = ((Py_UCS4)(b0 & 0x0F) << 12) | ((Py_UCS4)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (left < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) {
            return 0;
        }
        if ((b0 == 0xF0 && s[1] < 0x90) || (b0 == 0xF4 && s[1] > 0x8F)) {
            return 0;
        }
        *out = ((Py_UCS4)(b0 & 0x07) << 18) | ((Py_UCS4)(s[1] & 0x3F) << 12) | ((Py_UCS4)(s[2] & 0x3F) << 6) |
               (s[3] & 0x3F);
        return 4;
    }
    return 0;
}

/* Pass A: read the source, apply the character map into w->a. Returns the A_* flags, or -1 with
 * an exception (invalid UTF-8). */
static int
pass_a(ModState *st, Work *w, const Source *src)
{
    if (WGROW(w, w->a, w->a_cap, src->n + 1) < 0) {
        return -1;
    }
    const uint8_t *flags = st->tables->flags;
    Py_UCS4 *out = w->a;
    Py_ssize_t o = 0;
    int seen = 0;
    Py_ssize_t n = src->n;
    switch (src->kind) {
    case PyUnicode_1BYTE_KIND: {
        const Py_UCS1 *p = src->data;
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = p[i];
            PASS_A_CHAR(c);
        }
        break;
    }
    case PyUnicode_2BYTE_KIND: {
        const Py_UCS2 *p = src->data;
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = p[i];
            PASS_A_CHAR(c);
        }
        break;
    }
    case PyUnicode_4BYTE_KIND: {
        const Py_UCS4 *p = src->data;
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = p[i];
            PASS_A_CHAR(c);
        }
        break;
    }
    default: { /* SOURCE_UTF8 */
        const unsigned char *p = src->data;
        Py_ssize_t i = 0;
        while (i < n) {
            Py_UCS4 c = p[i];
            if (c < 0x80) {
                out[o++] = c;
                i++;
                continue;
            }
            int used = utf8_next(p + i, n - i, &c);
            if (used == 0) {
                /* Let Python's decoder raise its own UnicodeDecodeError. */
                PyObject *s = PyUnicode_DecodeUTF8((const char *)p, n, "strict");
                Py_XDECREF(s);
                if (s != NULL) {
                    PyErr_SetString(PyExc_ValueError, "invalid UTF-8");
                }
                return -1;
            }
            i += used;
            PASS_A_CHAR(c);
        }
        break;
    }
    }
    w->a_len = o;
    return seen;
}

/* Pass B (sokhan.core.text._fold_separators, look-alikes): a run of look-alikes and ZWNJs between
 * two Arabic-script letters becomes one ZWNJ; other look-alikes are removed. In place. */
static void
pass_lookalikes(Work *w)
{
    Py_UCS4 *a = w->a;
    Py_ssize_t n = w->a_len, o = 0, i = 0;
    while (i < n) {
        Py_UCS4 c = a[i];
        if (!(is_lookalike(c) || c == ZWNJ)) {
            a[o++] = c;
            i++;
            continue;
        }
        Py_ssize_t j = i;
        while (j < n && (is_lookalike(a[j]) || a[j] == ZWNJ)) {
            j++;
        }
        /* The character before the run is not in the run's class, so it was copied unchanged. */
        if (o > 0 && is_ar_letter(a[o - 1]) && j < n && is_ar_letter(a[j])) {
            a[o++] = ZWNJ;
        }
        else {
            for (Py_ssize_t k = i; k < j; k++) {
                if (a[k] == ZWNJ) {
                    a[o++] = ZWNJ;
                }
            }
        }
        i = j;
    }
    w->a_len = o;
}

/* Pass C (_ZWJ_NEAR_ARABIC): a run of ZWJ right after or right before an Arabic-script letter is
 * removed; other ZWJs (emoji sequences) stay. In place. */
static void
pass_zwj(Work *w)
{
    Py_UCS4 *a = w->a;
    Py_ssize_t n = w->a_len, o = 0, i = 0;
    while (i < n) {
        if (a[i] != ZWJ) {
            a[o++] = a[i++];
            continue;
        }
        Py_ssize_t j = i;
        while (j < n && a[j] == ZWJ) {
            j++;
        }
        int near = (o > 0 && is_ar_letter(a[o - 1])) || (j < n && is_ar_letter(a[j]));
        if (!near) {
            for (Py_ssize_t k = i; k < j; k++) {
                a[o++] = ZWJ;
            }
        }
        i = j;
    }
    w->a_len = o;
}

/* Case-fold an astral code point with str.casefold (outside the emoji blocks). Writes up to
 * `room` code points to out; returns how many, or -1 with an exception. */
static Py_ssize_t
casefold_astral(Py_UCS4 c, Py_UCS4 *out, Py_ssize_t room)
{
    PyObject *ch = PyUnicode_FromOrdinal((int)c);
    if (ch == NULL) {
        return -1;
    }
    PyObject *r = PyObject_CallMethod(ch, "casefold", NULL);
    Py_DECREF(ch);
    if (r == NULL) {
        return -1;
    }
    Py_ssize_t len = PyUnicode_GET_LENGTH(r);
    if (len > room) {
        Py_DECREF(r);
        PyErr_SetString(PyExc_RuntimeError, "casefold expanded more than expected");
        return -1;
    }
    for (Py_ssize_t k = 0; k < len; k++) {
        out[k] = PyUnicode_READ_CHAR(r, k);
    }
    Py_DECREF(r);
    return len;
}

static int
add_join(Work *w, Py_ssize_t at)
{
    if (WGROW(w, w->joins, w->joins_cap, w->joins_len + 1) < 0) {
        return -1;
    }
    w->joins[w->joins_len++] = at;
    return 0;
}

/* Pass D: whitespace runs to one space (ends stripped), ZWNJ at a word's edge dropped, ZWNJ inside
 * a word dropped and recorded as a join, case folding. From w->a into w->f. */
static int
pass_d(ModState *st, Work *w)
{
    const Tables *t = st->tables;
    const Py_UCS4 *a = w->a;
    Py_ssize_t n = w->a_len;
    if (WGROW(w, w->f, w->f_cap, 3 * n + 4) < 0) {
        return -1;
    }
    Py_UCS4 *f = w->f;
    Py_ssize_t o = 0;
    int in_word = 0, pending_space = 0, pending_zwnj = 0;
    w->joins_len = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = a[i];
        uint8_t fl = c < 0x10000 ? t->flags[c] : 0;
        if (fl & F_SPACE) {
            if (in_word) {
                pending_space = 1;
                in_word = 0;
            }
            pending_zwnj = 0; /* a ZWNJ before a space is at the word's edge */
            continue;
        }
        if (c == ZWNJ) {
            if (in_word) {
                pending_zwnj = 1; /* inside the word if a character follows before a space */
            }
            continue;
        }
        /* The worst case below writes 1 + 3 code points. */
        if (o + 4 > w->f_cap) {
            if (WGROW(w, w->f, w->f_cap, o + 4) < 0) {
                return -1;
            }
            f = w->f;
        }
        if (pending_space) {
            f[o++] = ' ';
            pending_space = 0;
        }
        if (pending_zwnj) {
            if (add_join(w, o) < 0) {
                return -1;
            }
            pending_zwnj = 0;
        }
        in_word = 1;
        if (c < 0x10000) {
            if (fl & F_FOLDS) {
                uint32_t v = t->fold[c];
                if (v & FOLD_MULTI) {
                    const uint32_t *m = t->multi[v & ~FOLD_MULTI];
                    for (uint32_t k = 0; k < m[0]; k++) {
                        f[o++] = m[1 + k];
                    }
                }
                else {
                    f[o++] = v;
                }
            }
            else {
                f[o++] = c;
            }
        }
        else if (c >= EMOJI_FIRST && c <= EMOJI_LAST) {
            f[o++] = c;
        }
        else {
            Py_ssize_t k = casefold_astral(c, f + o, 3);
            if (k < 0) {
                return -1;
            }
            o += k;
        }
    }
    w->f_len = o;
    return 0;
}

/* Read the (folded, joins) pair the Python fallback returned into w. */
static int
take_python_fold(Work *w, PyObject *result)
{
    PyObject *folded, *joins;
    if (!PyTuple_Check(result) || PyTuple_GET_SIZE(result) != 2 ||
        !PyUnicode_Check(folded = PyTuple_GET_ITEM(result, 0)) ||
        !PyTuple_Check(joins = PyTuple_GET_ITEM(result, 1))) {
        PyErr_SetString(PyExc_TypeError, "the fallback fold must return (str, tuple[int, ...])");
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(folded);
    if (WGROW(w, w->f, w->f_cap, n + 1) < 0) {
        return -1;
    }
    if (PyUnicode_AsUCS4(folded, w->f, w->f_cap, 0) == NULL) {
        return -1;
    }
    w->f_len = n;
    w->joins_len = 0;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(joins); k++) {
        Py_ssize_t at = PyLong_AsSsize_t(PyTuple_GET_ITEM(joins, k));
        if (at == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (at < 0 || at > n) {
            PyErr_SetString(PyExc_ValueError, "the fallback fold returned a join outside the text");
            return -1;
        }
        if (add_join(w, at) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
source_from_str(Source *src, PyObject *text)
{
    src->kind = PyUnicode_KIND(text);
    src->data = PyUnicode_DATA(text);
    src->n = PyUnicode_GET_LENGTH(text);
    src->obj = text;
    return 0;
}

/* Fold src into w->f / w->joins. With fallback == NULL a text with presentation forms is not
 * folded: *deferred is set and 0 returned. Returns 0, or -1 with an exception. */
static int
fold_source(ModState *st, Work *w, const Source *src, PyObject *fallback, int *deferred)
{
    PyObject *owned = NULL; /* a str made from a UTF-8 line, or the NFC of the text */
    int rc = -1;
    *deferred = 0;
    int seen = pass_a(st, w, src);
    if (seen < 0) {
        return -1;
    }
    if (seen & (A_PRESENTATION | A_NFC)) {
        PyObject *text = src->obj;
        if (text == NULL) {
            owned = PyUnicode_DecodeUTF8(src->data, src->n, "strict");
            if (owned == NULL) {
                return -1;
            }
            text = owned;
        }
        if (seen & A_PRESENTATION) {
            if (fallback == NULL) {
                *deferred = 1;
                rc = 0;
                goto done;
            }
            PyObject *result = PyObject_CallOneArg(fallback, text);
            if (result == NULL) {
                goto done;
            }
            rc = take_python_fold(w, result);
            Py_DECREF(result);
            goto done;
        }
        /* Possibly not NFC: ask unicodedata, and normalize if needed. */
        PyObject *ok = PyObject_CallFunctionObjArgs(st->is_normalized, st->nfc, text, NULL);
        if (ok == NULL) {
            goto done;
        }
        int normal = PyObject_IsTrue(ok);
        Py_DECREF(ok);
        if (normal < 0) {
            goto done;
        }
        if (!normal) {
            PyObject *nfc = PyObject_CallFunctionObjArgs(st->normalize, st->nfc, text, NULL);
            if (nfc == NULL) {
                goto done;
            }
            if (!PyUnicode_Check(nfc)) {
                Py_DECREF(nfc);
                PyErr_SetString(PyExc_TypeError, "unicodedata.normalize returned a non-str");
                goto done;
            }
            Py_XDECREF(owned);
            owned = nfc;
            Source again;
            source_from_str(&again, nfc);
            seen = pass_a(st, w, &again);
            if (seen < 0) {
                goto done;
            }
        }
    }
    if (seen & A_LOOKALIKE) {
        pass_lookalikes(w);
    }
    if (seen & A_ZWJ) {
        pass_zwj(w);
    }
    rc = pass_d(st, w);
done:
    Py_XDECREF(owned);
    return rc;
}

static PyObject *
folded_to_python(Work *w)
{
    PyObject *s = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, w->f, w->f_len);
    if (s == NULL) {
        return NULL;
    }
    PyObject *joins = PyTuple_New(w->joins_len);
    if (joins == NULL) {
        Py_DECREF(s);
        return NULL;
    }
    for (Py_ssize_t k = 0; k < w->joins_len; k++) {
        PyObject *v = PyLong_FromSsize_t(w->joins[k]);
        if (v == NULL) {
            Py_DECREF(s);
            Py_DECREF(joins);
            return NULL;
        }
        PyTuple_SET_ITEM(joins, k, v);
    }
    return Py_BuildValue("(NN)", s, joins);
}

/* ----------------------------------------------------------------------------------------------
 * The trie of terms
 * -------------------------------------------------------------------------------------------- */

enum { K_TEXT = 0, K_HASHTAG = 1, K_ACCOUNT = 2 };

typedef struct {
    PyObject *term_id; /* the Python int the matcher knows the term by */
    long long id;
    int32_t len;       /* key length in code points */
    uint8_t kind;      /* K_* */
    uint8_t first_word, last_word; /* is_word_char of the key's first and last character */
} Entry;

/* The terms' keys form a trie over code points. A key whose first character is a word character
 * can only stand as a whole word where a word starts (start == 0, or no word character and no
 * half space right before it: is_whole_word), and a key that starts with another character (#tag,
 * @account, ".net") can only start on that character. So instead of an Aho-Corasick walk over every
 * character, the trie is walked from each position where a key could start: the occurrences found
 * are exactly the occurrences that can pass the boundary rules, and a walk from a word start
 * usually ends after a character or two, in the trie's few, cache-resident shallow states.
 *
 * States are numbered in breadth-first order. The first `ndense` states (the root and the states
 * near it, which have many edges and are visited all the time) have a full row of `1 << shift`
 * cells (at least nsyms, at least 4); the others keep their edges as (symbol, next) pairs sorted by
 * symbol, which keeps the whole trie small enough to stay in the CPU's caches. So that a step
 * needs no multiplication, a cell holds the next state encoded:
 *   -1                                            no edge
 *   (t << shift) | CELL_ENDS if t ends keys       a dense state t: its row's offset
 *   (t << 2) | CELL_SPARSE | CELL_ENDS if ...     a sparse state t
 * and a pair's `next` is (t << 1) | 1 if t ends keys. Symbol 0 is every character no key contains. */
#define CELL_ENDS 1
#define CELL_SPARSE 2

typedef struct {
    int32_t nstates, nsyms, ndense, shift;
    int32_t *dense;       /* ndense << shift cells */
    int32_t *edge_start;  /* nstates + 1 */
    int32_t *edge_sym;    /* sorted within a state */
    int32_t *edge_to;
    int32_t *pairs;       /* (symbol, next) per edge, in edge order; see above */
    int32_t *entry_start; /* nstates + 1: the entries whose key ends at a state */
    Entry *entries;
    int32_t nentries;
    int32_t ascii_sym[128];
    int32_t **pages; /* NPAGES pages of 256 symbols for code points >= 128; NULL: no key uses it */
    uint64_t low[LOW_LIMIT]; /* Tables.low with the folded characters' symbols */
    int32_t space_sym;
    /* term id -> entry index (open addressing, power-of-two size) */
    long long *hash_ids;
    int32_t *hash_entries;
    Py_ssize_t hash_size;
} Trie;

#define NPAGES (0x110000 >> 8)
/* Dense rows are 4 bytes per (state, symbol): at most this many cells (512 KiB). */
#ifndef DENSE_CELLS
#define DENSE_CELLS (1 << 17)
#endif

static void
trie_free(Trie *tr)
{
    if (tr == NULL) {
        return;
    }
    PyMem_Free(tr->dense);
    PyMem_Free(tr->edge_start);
    PyMem_Free(tr->edge_sym);
    PyMem_Free(tr->edge_to);
    PyMem_Free(tr->pairs);
    PyMem_Free(tr->entry_start);
    if (tr->entries != NULL) {
        for (int32_t i = 0; i < tr->nentries; i++) {
            Py_XDECREF(tr->entries[i].term_id);
        }
        PyMem_Free(tr->entries);
    }
    if (tr->pages != NULL) {
        for (Py_ssize_t p = 0; p < NPAGES; p++) {
            PyMem_Free(tr->pages[p]);
        }
        PyMem_Free(tr->pages);
    }
    PyMem_Free(tr->hash_ids);
    PyMem_Free(tr->hash_entries);
    PyMem_Free(tr);
}

static inline int32_t
symbol_of(const Trie *tr, Py_UCS4 c)
{
    if (c < 128) {
        return tr->ascii_sym[c];
    }
    if (c >= 0x110000) {
        return 0;
    }
    const int32_t *page = tr->pages[c >> 8];
    return page != NULL ? page[c & 0xFF] : 0;
}

/* The symbol for c, allocating one if the key alphabet does not have it yet. */
static int32_t
symbol_add(Trie *tr, Py_UCS4 c)
{
    int32_t s = symbol_of(tr, c);
    if (s != 0) {
        return s;
    }
    if (tr->nsyms == INT32_MAX) {
        PyErr_NoMemory();
        return -1;
    }
    s = tr->nsyms++;
    if (c < 128) {
        tr->ascii_sym[c] = s;
        return s;
    }
    int32_t **page = &tr->pages[c >> 8];
    if (*page == NULL) {
        *page = PyMem_Calloc(256, sizeof(int32_t));
        if (*page == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    (*page)[c & 0xFF] = s;
    return s;
}

static int32_t
entry_of_term(const Trie *tr, long long id)
{
    if (tr == NULL || tr->hash_size == 0) {
        return -1;
    }
    size_t mask = (size_t)tr->hash_size - 1;
    size_t h = ((size_t)id * 0x9E3779B97F4A7C15ull) & mask;
    while (tr->hash_entries[h] >= 0) {
        if (tr->hash_ids[h] == id) {
            return tr->hash_entries[h];
        }
        h = (h + 1) & mask;
    }
    return -1;
}

/* The trie while it is built: first-child / next-sibling lists. */
typedef struct {
    int32_t *first, *next, *sym;
    Py_ssize_t cap;
    int32_t count;
} Builder;

static int
builder_init(Builder *b)
{
    memset(b, 0, sizeof(*b));
    Py_ssize_t c1 = 0, c2 = 0, c3 = 0;
    if (GROW(b->first, c1, 1024) < 0 || GROW(b->next, c2, 1024) < 0 || GROW(b->sym, c3, 1024) < 0) {
        return -1;
    }
    b->cap = 1024; /* all three grew from 0 to the same size */
    b->first[0] = -1;
    b->next[0] = -1;
    b->sym[0] = 0;
    b->count = 1;
    return 0;
}

static void
builder_free(Builder *b)
{
    PyMem_Free(b->first);
    PyMem_Free(b->next);
    PyMem_Free(b->sym);
    memset(b, 0, sizeof(*b));
}

/* The child of node on sym, made if missing: its number, or -1 with an exception. */
static int32_t
builder_child(Builder *b, int32_t node, int32_t sym)
{
    for (int32_t c = b->first[node]; c >= 0; c = b->next[c]) {
        if (b->sym[c] == sym) {
            return c;
        }
    }
    if (b->count >= (1 << 29)) {
        PyErr_SetString(PyExc_OverflowError, "too many trie states");
        return -1;
    }
    Py_ssize_t need = (Py_ssize_t)b->count + 1;
    if (need > b->cap) {
        Py_ssize_t c1 = b->cap, c2 = b->cap, c3 = b->cap;
        if (GROW(b->first, c1, need) < 0 || GROW(b->next, c2, need) < 0 || GROW(b->sym, c3, need) < 0) {
            return -1;
        }
        b->cap = c1; /* the three grew the same way from the same size */
    }
    int32_t c = b->count++;
    b->first[c] = -1;
    b->sym[c] = sym;
    b->next[c] = b->first[node];
    b->first[node] = c;
    return c;
}

/* A term the matcher wants found: (key, term id, boundary kind). */
typedef struct {
    PyObject *key;
    PyObject *term_id;
    long long id;
    int kind;
    int32_t node; /* builder node where the key ends, -1 for an empty key */
} TermIn;

/* Build the trie from a sequence of (key: str, term_id: int, kind: int). NULL with an exception
 * on error. */
static Trie *
trie_build(ModState *st, PyObject *terms)
{
    Trie *tr = NULL;
    Builder b;
    memset(&b, 0, sizeof(b));
    TermIn *in = NULL;
    int32_t *order = NULL, *newid = NULL, *fill = NULL;
    PyObject *seq = PySequence_Fast(terms, "terms must be a sequence of (key, term_id, kind)");
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t nterms = PySequence_Fast_GET_SIZE(seq);
    if (nterms > INT32_MAX / 2) {
        PyErr_SetString(PyExc_OverflowError, "too many terms");
        goto error;
    }
    tr = PyMem_Calloc(1, sizeof(Trie));
    if (tr == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    tr->pages = PyMem_Calloc(NPAGES, sizeof(int32_t *));
    in = PyMem_Calloc((size_t)(nterms > 0 ? nterms : 1), sizeof(TermIn));
    if (tr->pages == NULL || in == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    tr->nsyms = 1; /* symbol 0: a character no key contains */
    if (builder_init(&b) < 0) {
        goto error;
    }

    for (Py_ssize_t i = 0; i < nterms; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 3 || !PyUnicode_Check(PyTuple_GET_ITEM(item, 0)) ||
            !PyLong_Check(PyTuple_GET_ITEM(item, 1)) || !PyLong_Check(PyTuple_GET_ITEM(item, 2))) {
            PyErr_SetString(PyExc_TypeError, "each term must be (key: str, term_id: int, kind: int)");
            goto error;
        }
        TermIn *t = &in[i];
        t->key = PyTuple_GET_ITEM(item, 0);
        t->term_id = PyTuple_GET_ITEM(item, 1);
        t->id = PyLong_AsLongLong(t->term_id);
        if (t->id == -1 && PyErr_Occurred()) {
            goto error;
        }
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(item, 2));
        if (kind < K_TEXT || kind > K_ACCOUNT) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "term kind must be 0 (text), 1 (hashtag) or 2 (account)");
            }
            goto error;
        }
        t->kind = (int)kind;
        Py_ssize_t len = PyUnicode_GET_LENGTH(t->key);
        if (len == 0) { /* pyahocorasick ignores an empty key: it never hits */
            t->node = -1;
            continue;
        }
        if (len > INT32_MAX / 2) {
            PyErr_SetString(PyExc_OverflowError, "term too long");
            goto error;
        }
        int32_t node = 0;
        for (Py_ssize_t k = 0; k < len; k++) {
            int32_t sym = symbol_add(tr, PyUnicode_READ_CHAR(t->key, k));
            if (sym < 0) {
                goto error;
            }
            node = builder_child(&b, node, sym);
            if (node < 0) {
                goto error;
            }
        }
        t->node = node;
    }

    /* The low table with symbols (the alphabet is complete now). */
    for (Py_UCS4 c = 0; c < LOW_LIMIT; c++) {
        uint64_t e = st->tables->low[c];
        if (!(e & (LOW_SLOW | LOW_SPACE))) {
            e |= (uint64_t)(uint32_t)symbol_of(tr, LOW_CHAR(e)) << 32;
        }
        tr->low[c] = e;
    }
    tr->space_sym = symbol_of(tr, ' ');

    /* Breadth-first numbering. */
    int32_t n = b.count;
    tr->nstates = n;
    order = PyMem_Malloc(sizeof(int32_t) * (size_t)n);
    newid = PyMem_Malloc(sizeof(int32_t) * (size_t)n);
    if (order == NULL || newid == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    {
        int32_t head = 0, tail = 0;
        order[tail++] = 0;
        while (head < tail) {
            int32_t u = order[head++];
            for (int32_t c = b.first[u]; c >= 0; c = b.next[c]) {
                if (tail >= n) {
                    PyErr_SetString(PyExc_RuntimeError, "corrupt trie");
                    goto error;
                }
                order[tail++] = c;
            }
        }
        if (tail != n) {
            PyErr_SetString(PyExc_RuntimeError, "corrupt trie");
            goto error;
        }
        for (int32_t k = 0; k < n; k++) {
            newid[order[k]] = k;
        }
    }

    /* Edges in the new numbering, sorted by symbol (n - 1 of them: one per non-root state). */
    tr->edge_start = PyMem_Calloc((size_t)n + 1, sizeof(int32_t));
    tr->edge_sym = PyMem_Malloc(sizeof(int32_t) * (size_t)(n > 1 ? n - 1 : 1));
    tr->edge_to = PyMem_Malloc(sizeof(int32_t) * (size_t)(n > 1 ? n - 1 : 1));
    if (tr->edge_start == NULL || tr->edge_sym == NULL || tr->edge_to == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    {
        int32_t e = 0;
        for (int32_t k = 0; k < n; k++) {
            int32_t u = order[k];
            tr->edge_start[k] = e;
            int32_t first = e;
            for (int32_t c = b.first[u]; c >= 0; c = b.next[c]) {
                if (e >= n - 1) {
                    PyErr_SetString(PyExc_RuntimeError, "corrupt trie");
                    goto error;
                }
                int32_t sym = b.sym[c], to = newid[c], p = e++;
                while (p > first && tr->edge_sym[p - 1] > sym) { /* insertion sort */
                    tr->edge_sym[p] = tr->edge_sym[p - 1];
                    tr->edge_to[p] = tr->edge_to[p - 1];
                    p--;
                }
                tr->edge_sym[p] = sym;
                tr->edge_to[p] = to;
            }
        }
        tr->edge_start[n] = e;
    }

    /* Entries, grouped by the state their key ends at. */
    fill = PyMem_Calloc((size_t)n + 1, sizeof(int32_t));
    tr->entry_start = PyMem_Calloc((size_t)n + 1, sizeof(int32_t));
    if (fill == NULL || tr->entry_start == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    int32_t nentries = 0;
    for (Py_ssize_t i = 0; i < nterms; i++) {
        if (in[i].node >= 0) {
            fill[newid[in[i].node]]++;
            nentries++;
        }
    }
    tr->entries = PyMem_Calloc((size_t)(nentries > 0 ? nentries : 1), sizeof(Entry));
    if (tr->entries == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    tr->nentries = nentries; /* zeroed: trie_free releases the ones filled so far */
    {
        int32_t sum = 0;
        for (int32_t k = 0; k < n; k++) {
            tr->entry_start[k] = sum;
            sum += fill[k];
            fill[k] = tr->entry_start[k]; /* now: the next free entry of state k */
        }
        tr->entry_start[n] = sum;
    }
    for (Py_ssize_t i = 0; i < nterms; i++) {
        if (in[i].node < 0) {
            continue;
        }
        int32_t s = newid[in[i].node];
        Entry *e = &tr->entries[fill[s]++];
        e->term_id = Py_NewRef(in[i].term_id);
        e->id = in[i].id;
        e->kind = (uint8_t)in[i].kind;
        Py_ssize_t len = PyUnicode_GET_LENGTH(in[i].key);
        e->len = (int32_t)len;
        int w1 = word_char(st, PyUnicode_READ_CHAR(in[i].key, 0));
        int w2 = word_char(st, PyUnicode_READ_CHAR(in[i].key, len - 1));
        if (w1 < 0 || w2 < 0) {
            goto error;
        }
        e->first_word = (uint8_t)w1;
        e->last_word = (uint8_t)w2;
    }

    /* term id -> entry */
    {
        Py_ssize_t size = 16;
        while (size < 2 * (Py_ssize_t)nentries + 1) {
            size *= 2;
        }
        tr->hash_size = size;
        tr->hash_ids = PyMem_Calloc((size_t)size, sizeof(long long));
        tr->hash_entries = PyMem_Malloc(sizeof(int32_t) * (size_t)size);
        if (tr->hash_ids == NULL || tr->hash_entries == NULL) {
            PyErr_NoMemory();
            goto error;
        }
        for (Py_ssize_t h = 0; h < size; h++) {
            tr->hash_entries[h] = -1;
        }
        size_t mask = (size_t)size - 1;
        for (int32_t k = 0; k < nentries; k++) {
            size_t h = ((size_t)tr->entries[k].id * 0x9E3779B97F4A7C15ull) & mask;
            while (tr->hash_entries[h] >= 0 && tr->hash_ids[h] != tr->entries[k].id) {
                h = (h + 1) & mask;
            }
            tr->hash_ids[h] = tr->entries[k].id;
            tr->hash_entries[h] = k; /* a repeated id (a caller error) keeps the last entry */
        }
    }

    /* Dense rows for a breadth-first prefix of the states. */
    {
        int shift = 2;
        while ((1 << shift) < tr->nsyms) {
            if (shift == 20) {
                PyErr_SetString(PyExc_OverflowError, "too many distinct characters in the terms");
                goto error;
            }
            shift++;
        }
        tr->shift = shift;
        size_t rows = ((size_t)DENSE_CELLS) >> shift;
        if (rows < 1) {
            rows = 1;
        }
        tr->ndense = (int32_t)(rows < (size_t)n ? rows : (size_t)n);
        size_t cells = (size_t)tr->ndense << shift;
        tr->dense = PyMem_Malloc(cells * sizeof(int32_t));
        if (tr->dense == NULL) {
            PyErr_NoMemory();
            goto error;
        }
        for (size_t k = 0; k < cells; k++) {
            tr->dense[k] = -1;
        }
        for (int32_t u = 0; u < tr->ndense; u++) {
            int32_t *row = tr->dense + ((size_t)u << shift);
            for (int32_t k = tr->edge_start[u]; k < tr->edge_start[u + 1]; k++) {
                int32_t t = tr->edge_to[k];
                int ends = tr->entry_start[t] < tr->entry_start[t + 1];
                /* t < 2^29 (builder_child), and t << shift < DENSE_CELLS for a dense t */
                row[tr->edge_sym[k]] =
                    t < tr->ndense ? (t << shift) | (ends ? CELL_ENDS : 0) : (t << 2) | CELL_SPARSE | (ends ? CELL_ENDS : 0);
            }
        }
    }
    /* The pairs of the sparse states. */
    {
        int32_t nedges = tr->edge_start[n];
        tr->pairs = PyMem_Malloc(sizeof(int32_t) * 2 * (size_t)(nedges > 0 ? nedges : 1));
        if (tr->pairs == NULL) {
            PyErr_NoMemory();
            goto error;
        }
        for (int32_t k = 0; k < nedges; k++) {
            int32_t t = tr->edge_to[k];
            tr->pairs[2 * k] = tr->edge_sym[k];
            tr->pairs[2 * k + 1] = (t << 1) | (tr->entry_start[t] < tr->entry_start[t + 1]);
        }
    }

    Py_DECREF(seq);
    builder_free(&b);
    PyMem_Free(in);
    PyMem_Free(order);
    PyMem_Free(newid);
    PyMem_Free(fill);
    return tr;

error:
    Py_DECREF(seq);
    builder_free(&b);
    PyMem_Free(in);
    PyMem_Free(order);
    PyMem_Free(newid);
    PyMem_Free(fill);
    trie_free(tr);
    return NULL;
}

/* The `next` of sparse state s's pair for sym ((t << 1) | ends), or -1. */
static inline int32_t
pair_lookup(const Trie *tr, int32_t s, int32_t sym)
{
    int32_t lo = tr->edge_start[s], hi = tr->edge_start[s + 1];
    const int32_t *pairs = tr->pairs;
    if (hi - lo <= 8) {
        for (int32_t k = lo; k < hi; k++) {
            if (pairs[2 * k] == sym) {
                return pairs[2 * k + 1];
            }
        }
        return -1;
    }
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int32_t m = pairs[2 * mid];
        if (m == sym) {
            return pairs[2 * mid + 1];
        }
        if (m < sym) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return -1;
}

/* ----------------------------------------------------------------------------------------------
 * The single pass: decode, fold and walk the trie
 * -------------------------------------------------------------------------------------------- */

/* Most posts need none of the rare rules: no NFC change, no half-space look-alike or ZWJ, no
 * presentation form, no multi-character case folding, no astral character outside the emoji
 * blocks. For those, pass D's output is produced directly from the source in one loop, and each
 * folded character also advances the trie walks under way and starts one where a key could start
 * (see Trie). A post that meets a rare character, or more than MAX_WALKS walks at once, is done
 * again by the separate passes (fold_source, find_starts, walk), which handle everything. */

#define MAX_WALKS 8
#define WALK_DEAD INT32_MIN

/* One trie step from `cur` (a dense row offset, or -1 - state for a sparse state) on sym > 0.
 * Returns the new cur, or WALK_DEAD; *ends is the state when it ends keys, else -1. */
static inline int32_t
trie_step(const Trie *tr, int32_t cur, int32_t sym, int32_t *ends)
{
    *ends = -1;
    if (cur >= 0) {
        int32_t v = tr->dense[(size_t)cur + (size_t)sym];
        if ((v & (CELL_ENDS | CELL_SPARSE)) == 0) {
            return v; /* the common case; -1 has both bits set */
        }
        if (v == -1) {
            return WALK_DEAD;
        }
        if (v & CELL_SPARSE) {
            int32_t t = v >> 2;
            if (v & CELL_ENDS) {
                *ends = t;
            }
            return -1 - t;
        }
        cur = v & ~CELL_ENDS;
        *ends = cur >> tr->shift;
        return cur;
    }
    int32_t next = pair_lookup(tr, -1 - cur, sym);
    if (next < 0) {
        return WALK_DEAD;
    }
    if (next & 1) {
        *ends = next >> 1;
    }
    return -1 - (next >> 1);
}

static int
add_candidate(Work *w, int32_t state, Py_ssize_t end)
{
    if (WGROW(w, w->cands, w->cands_cap, w->cands_len + 1) < 0) {
        return -1;
    }
    w->cands[w->cands_len].state = state;
    w->cands[w->cands_len].end = end;
    w->cands_len++;
    return 0;
}

/* Folded character ch is written at position `at`: advance the walks under way and start one if a
 * key could start here (a word character only at a word start not preceded by a half space; any
 * other character that begins a key). sym: ch's symbol, or -1 to look it up. Uses the locals of
 * fast_fold; jumps to `bail` / `error`. */
#define FIND(ch, sym, is_word, at, joined_here)                                            \
    do {                                                                                   \
        int start_ = !(is_word) || (!prev_word && !(joined_here));                         \
        prev_word = (is_word);                                                             \
        if (nwalks == 0 && !start_) {                                                      \
            break;                                                                         \
        }                                                                                  \
        int32_t fsym_ = (sym), ends_;                                                      \
        if (fsym_ < 0) {                                                                   \
            Py_UCS4 ch_ = (ch);                                                            \
            if (ch_ < 128) {                                                               \
                fsym_ = ascii_sym[ch_];                                                    \
            }                                                                              \
            else {                                                                         \
                const int32_t *page_ = pages[ch_ >> 8]; /* ch_ < 0x110000 */               \
                fsym_ = page_ != NULL ? page_[ch_ & 0xFF] : 0;                             \
            }                                                                              \
        }                                                                                  \
        if (fsym_ == 0) {                                                                  \
            nwalks = 0;                                                                    \
            break;                                                                         \
        }                                                                                  \
        if (nwalks > 0) {                                                                  \
            /* the first walk lives in walk0 (usually the only one), the others in more */  \
            int kept_ = 0;                                                                 \
            int32_t cur_ = trie_step(tr, walk0, fsym_, &ends_);                            \
            if (ends_ >= 0 && add_candidate(w, ends_, (at) + 1) < 0) {                     \
                goto error;                                                                \
            }                                                                              \
            if (cur_ != WALK_DEAD) {                                                       \
                walk0 = cur_;                                                              \
                kept_ = 1;                                                                 \
            }                                                                              \
            for (int k_ = 0; k_ < nwalks - 1; k_++) {                                      \
                cur_ = trie_step(tr, more[k_], fsym_, &ends_);                             \
                if (ends_ >= 0 && add_candidate(w, ends_, (at) + 1) < 0) {                 \
                    goto error;                                                            \
                }                                                                          \
                if (cur_ != WALK_DEAD) {                                                   \
                    if (kept_ == 0) {                                                      \
                        walk0 = cur_;                                                      \
                    }                                                                      \
                    else {                                                                 \
                        more[kept_ - 1] = cur_;                                            \
                    }                                                                      \
                    kept_++;                                                               \
                }                                                                          \
            }                                                                              \
            nwalks = kept_;                                                                \
        }                                                                                  \
        if (start_) {                                                                      \
            int32_t cur_ = trie_step(tr, 0, fsym_, &ends_);                                \
            if (ends_ >= 0 && add_candidate(w, ends_, (at) + 1) < 0) {                     \
                goto error;                                                                \
            }                                                                              \
            if (cur_ != WALK_DEAD) {                                                       \
                if (nwalks == 0) {                                                         \
                    walk0 = cur_;                                                          \
                }                                                                          \
                else if (nwalks == MAX_WALKS) {                                            \
                    goto bail;                                                             \
                }                                                                          \
                else {                                                                     \
                    more[nwalks - 1] = cur_;                                               \
                }                                                                          \
                nwalks++;                                                                  \
            }                                                                              \
        }                                                                                  \
    } while (0)

/* One source character through the fold (pass D's rules, with pass A's map). Leaves the do-while
 * to skip a character; jumps to `bail` for a character the single pass does not handle and to
 * `error` on failure. Below LOW_LIMIT one table load usually decides everything. */
#define FAST_CHAR(c)                                                                      \
    do {                                                                                  \
        Py_UCS4 c_ = (c), fc_ = 0;                                                        \
        int word_ = 0, general_ = 1, space_ = 0;                                          \
        int32_t sym_ = -1;                                                                \
        if (c_ < LOW_LIMIT) {                                                             \
            uint64_t e_ = low[c_];                                                        \
            if (!(e_ & (LOW_SLOW | LOW_SPACE))) {                                         \
                fc_ = LOW_CHAR(e_);                                                       \
                word_ = (e_ & LOW_WORD) != 0;                                             \
                sym_ = LOW_SYM(e_);                                                       \
                general_ = 0;                                                             \
            }                                                                             \
            else if (e_ & LOW_SPACE) {                                                    \
                space_ = 1;                                                               \
                general_ = 0;                                                             \
            }                                                                             \
        }                                                                                 \
        if (general_) {                                                                   \
            uint8_t fl_;                                                                  \
            if (c_ < 0x10000) {                                                           \
                fl_ = flags[c_];                                                          \
                if (fl_ & (F_SPACE | F_UNSAFE | F_FOLDS | F_SPECIAL)) {                   \
                    if (fl_ & F_SPACE) { /* NFC maps a space to a space: test it first */ \
                        space_ = 1;                                                       \
                    }                                                                     \
                    else if (fl_ & F_UNSAFE) {                                            \
                        goto bail;                                                        \
                    }                                                                     \
                    else if (fl_ & F_SPECIAL) {                                           \
                        if (c_ == ZWNJ) {                                                 \
                            if (in_word) {                                                \
                                pending_zwnj = 1;                                         \
                            }                                                             \
                            break;                                                        \
                        }                                                                 \
                        int seen_ = 0;                                                    \
                        fc_ = map_special(c_, &seen_);                                    \
                        if (seen_) {                                                      \
                            goto bail; /* a look-alike, ZWJ or presentation form */       \
                        }                                                                 \
                        if (fc_ == MAP_DROP) {                                            \
                            break;                                                        \
                        }                                                                 \
                        fl_ = flags[fc_]; /* a Persian letter or 0-9: no case */          \
                    }                                                                     \
                    else {                                                                \
                        uint32_t v_ = fold[c_];                                           \
                        if (v_ & FOLD_MULTI) {                                            \
                            goto bail;                                                    \
                        }                                                                 \
                        fc_ = v_;                                                         \
                        fl_ = flags[fc_];                                                 \
                    }                                                                     \
                }                                                                         \
                else {                                                                    \
                    fc_ = c_;                                                             \
                }                                                                         \
                word_ = (fl_ & F_WORD) != 0;                                              \
            }                                                                             \
            else if (c_ >= EMOJI_FIRST && c_ <= EMOJI_LAST) {                             \
                fc_ = c_; /* not a word character */                                      \
            }                                                                             \
            else {                                                                        \
                goto bail;                                                                \
            }                                                                             \
        }                                                                                 \
        if (space_) {                                                                     \
            if (in_word) {                                                                \
                pending_space = 1;                                                        \
                in_word = 0;                                                              \
            }                                                                             \
            pending_zwnj = 0; /* a ZWNJ before a space is at the word's edge */          \
            break;                                                                        \
        }                                                                                 \
        /* at most one output character per source character: f has room */              \
        int joined_ = 0;                                                                  \
        if (pending_space) {                                                              \
            if (tr != NULL) {                                                             \
                FIND(' ', space_sym, 0, o, 0);                                            \
            }                                                                             \
            f[o++] = ' ';                                                                 \
            pending_space = 0;                                                            \
        }                                                                                 \
        if (pending_zwnj) {                                                               \
            if (add_join(w, o) < 0) {                                                     \
                goto error;                                                               \
            }                                                                             \
            pending_zwnj = 0;                                                             \
            joined_ = 1;                                                                  \
        }                                                                                 \
        in_word = 1;                                                                      \
        if (tr != NULL) {                                                                 \
            FIND(fc_, sym_, word_, o, joined_);                                           \
        }                                                                                 \
        f[o++] = fc_;                                                                     \
    } while (0)

/* Fold src into w->f / w->joins and, with a trie, collect the walks' candidates in w->cands.
 * Returns 1 when done, 0 when the text needs the separate passes, -1 with an exception. */
static int
fast_fold(ModState *st, const Trie *tr, Work *w, const Source *src)
{
    static const int32_t no_symbols[128] = {0};
    const uint8_t *flags = st->tables->flags;
    const uint32_t *fold = st->tables->fold;
    const int32_t *ascii_sym = tr != NULL ? tr->ascii_sym : no_symbols;
    int32_t *const *pages = tr != NULL ? tr->pages : NULL;
    const uint64_t *low = tr != NULL ? tr->low : st->tables->low;
    const int32_t space_sym = tr != NULL ? tr->space_sym : 0;
    int32_t walk0 = 0, more[MAX_WALKS - 1]; /* the walks under way (see FIND) */
    int nwalks = 0;
    Py_ssize_t n = src->n;
    if (WGROW(w, w->f, w->f_cap, n + 1) < 0) {
        return -1;
    }
    Py_UCS4 *f = w->f;
    Py_ssize_t o = 0;
    int in_word = 0, pending_space = 0, pending_zwnj = 0, prev_word = 0;
    w->joins_len = 0;
    w->cands_len = 0;
    switch (src->kind) {
    case PyUnicode_1BYTE_KIND: {
        const Py_UCS1 *p = src->data;
        for (Py_ssize_t i = 0; i < n; i++) {
            FAST_CHAR(p[i]);
        }
        break;
    }
    case PyUnicode_2BYTE_KIND: {
        const Py_UCS2 *p = src->data;
        for (Py_ssize_t i = 0; i < n; i++) {
            FAST_CHAR(p[i]);
        }
        break;
    }
    case PyUnicode_4BYTE_KIND: {
        const Py_UCS4 *p = src->data;
        for (Py_ssize_t i = 0; i < n; i++) {
            FAST_CHAR(p[i]);
        }
        break;
    }
    default: { /* SOURCE_UTF8 */
        const unsigned char *p = src->data;
        Py_ssize_t i = 0;
        while (i < n) {
            if (in_word && prev_word && nwalks <= 1 && !pending_zwnj) {
                /* Right after a word character of the same word (in_word: no space pending), with
                 * at most one walk under way and no ZWNJ pending (that would make a join), a plain
                 * word character starts nothing: it is written and advances the walk, if any. A
                 * tight loop until something else comes. (FIND does the same, more generally.) */
                while (i < n) {
                    Py_UCS4 cp = p[i];
                    int used = 1;
                    if (cp >= 0x80) {
                        if (cp < 0xC2 || cp > 0xDF || i + 1 >= n || (p[i + 1] & 0xC0) != 0x80) {
                            break;
                        }
                        cp = ((cp & 0x1F) << 6) | (p[i + 1] & 0x3F);
                        used = 2;
                    }
                    uint64_t e = low[cp];
                    if ((e & (LOW_SLOW | LOW_SPACE | LOW_WORD)) != LOW_WORD) {
                        break;
                    }
                    if (nwalks) {
                        int32_t sym = LOW_SYM(e), ends;
                        int32_t cur = sym != 0 ? trie_step(tr, walk0, sym, &ends) : WALK_DEAD;
                        if (sym != 0 && ends >= 0 && add_candidate(w, ends, o + 1) < 0) {
                            goto error;
                        }
                        if (cur == WALK_DEAD) {
                            nwalks = 0;
                        }
                        else {
                            walk0 = cur;
                        }
                    }
                    f[o++] = LOW_CHAR(e);
                    i += used;
                }
                if (i >= n) {
                    break;
                }
            }
            Py_UCS4 c = p[i];
            if (c < 0x80) {
                i++;
            }
            else if (c >= 0xC2 && c <= 0xDF && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
                c = ((c & 0x1F) << 6) | (p[i + 1] & 0x3F); /* two bytes: Persian, Arabic, Latin-1 */
                i += 2;
            }
            else {
                int used = utf8_next(p + i, n - i, &c);
                if (used == 0) {
                    goto bail; /* fold_source raises the decoding error */
                }
                i += used;
            }
            FAST_CHAR(c);
        }
        break;
    }
    }
    w->f_len = o;
    return 1;
bail:
    return 0;
error:
    return -1;
}

static int
add_start(Work *w, Py_ssize_t at)
{
    if (WGROW(w, w->starts, w->starts_cap, w->starts_len + 1) < 0) {
        return -1;
    }
    w->starts[w->starts_len++] = at;
    return 0;
}

/* The possible starts of the folded text in w->f (after fold_source), with FIND's rule. */
static int
find_starts(ModState *st, const Trie *tr, Work *w, const uint8_t *joined)
{
    w->starts_len = 0;
    int prev = 0;
    for (Py_ssize_t i = 0; i < w->f_len; i++) {
        Py_UCS4 c = w->f[i];
        int wc = word_char(st, c);
        if (wc < 0) {
            return -1;
        }
        if (!wc || (!prev && !(joined != NULL && joined[i]))) {
            int32_t sym = symbol_of(tr, c);
            if (sym != 0 && tr->dense[sym] != -1 && add_start(w, i) < 0) {
                return -1;
            }
        }
        prev = wc;
    }
    return 0;
}

/* Walk the trie from f[start]: every state with entries on the way is a candidate. */
static int
walk(const Trie *tr, Work *w, Py_ssize_t start)
{
    const Py_UCS4 *f = w->f;
    const int32_t *dense = tr->dense;
    const int shift = tr->shift;
    int32_t off = 0;    /* the current state's row offset while it is dense */
    int32_t state = -1; /* the current state once it is sparse (dense states are a prefix) */
    for (Py_ssize_t i = start; i < w->f_len; i++) {
        int32_t sym = symbol_of(tr, f[i]);
        if (sym == 0) {
            return 0;
        }
        int32_t t;
        if (state < 0) {
            int32_t v = dense[(size_t)off + (size_t)sym];
            if (v == -1) {
                return 0;
            }
            if ((v & (CELL_ENDS | CELL_SPARSE)) == 0) {
                off = v; /* the common case */
                continue;
            }
            if (v & CELL_SPARSE) {
                t = state = v >> 2;
            }
            else {
                off = v & ~CELL_ENDS;
                t = off >> shift;
            }
            if (!(v & CELL_ENDS)) {
                continue;
            }
        }
        else {
            int32_t next = pair_lookup(tr, state, sym);
            if (next < 0) {
                return 0;
            }
            t = state = next >> 1;
            if (!(next & 1)) {
                continue;
            }
        }
        if (add_candidate(w, t, i + 1) < 0) {
            return -1;
        }
    }
    return 0;
}

PyDoc_STRVAR(fold_doc,
"fold(text, fallback=None, /)\n--\n\n"
"``sokhan.core.text.fold_with_joins(text)``: the folded text and the join positions.\n"
"A text with Arabic presentation forms is passed to ``fallback`` (which must return the same\n"
"pair); without one, None is returned for it.");

PyDoc_STRVAR(fold_passes_doc,
"fold_passes(text, fallback=None, /)\n--\n\n"
"``fold`` without the single-pass shortcut: every text through the separate passes (for tests).");

static PyObject *
fold_common(PyObject *module, PyObject *const *args, Py_ssize_t nargs, int shortcut)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "fold(text, fallback=None)");
        return NULL;
    }
    if (!PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "fold() needs a str");
        return NULL;
    }
    PyObject *fallback = nargs == 2 && args[1] != Py_None ? args[1] : NULL;
    ModState *st = get_state(module);
    Work w;
    memset(&w, 0, sizeof(w));
    Source src;
    source_from_str(&src, args[0]);
    PyObject *result = NULL;
    int done = shortcut ? fast_fold(st, NULL, &w, &src) : 0;
    if (done == 1) {
        result = folded_to_python(&w);
    }
    else if (done == 0) {
        int deferred;
        if (fold_source(st, &w, &src, fallback, &deferred) == 0) {
            result = deferred ? Py_NewRef(Py_None) : folded_to_python(&w);
        }
    }
    work_free(&w);
    return result;
}

static PyObject *
scan_fold(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return fold_common(module, args, nargs, 1);
}

static PyObject *
scan_fold_passes(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return fold_common(module, args, nargs, 0);
}

/* ----------------------------------------------------------------------------------------------
 * Queries
 * -------------------------------------------------------------------------------------------- */

enum { Q_TERM = 0, Q_LANG = 1, Q_CHANNEL = 2, Q_NOT = 3, Q_AND = 4, Q_OR = 5 };

/* A compiled query is its nodes in preorder; `size` counts a node's subtree, to skip it. */
typedef struct {
    uint8_t op;
    int32_t size;
    int32_t count;     /* AND / OR: children */
    int32_t entry;     /* TERM: entry in the current trie, -1 if it has none */
    long long term_id; /* TERM */
    PyObject *value;   /* LANG / CHANNEL */
    PyObject *prefix;  /* LANG: value + "-" */
} QNode;

typedef struct {
    PyObject *key; /* NULL: a free slot */
    long long *anchors;
    Py_ssize_t nanchors;
    QNode *prog; /* NULL: an OR of positive terms, true when any anchor hits */
    Py_ssize_t nprog;
    uint32_t stamp;
} Slot;

static void
slot_clear(Slot *s)
{
    Py_CLEAR(s->key);
    PyMem_Free(s->anchors);
    s->anchors = NULL;
    s->nanchors = 0;
    if (s->prog != NULL) {
        for (Py_ssize_t k = 0; k < s->nprog; k++) {
            Py_XDECREF(s->prog[k].value);
            Py_XDECREF(s->prog[k].prefix);
        }
        PyMem_Free(s->prog);
    }
    s->prog = NULL;
    s->nprog = 0;
}

#define MAX_PROGRAM_DEPTH 1000

/* Count the nodes of a program: an int (a term), or (op, payload). -1 with an exception. */
static Py_ssize_t
program_count(PyObject *p, int depth)
{
    if (depth > MAX_PROGRAM_DEPTH) {
        PyErr_SetString(PyExc_ValueError, "query program nested too deeply");
        return -1;
    }
    if (PyLong_Check(p)) {
        return 1;
    }
    if (!PyTuple_Check(p) || PyTuple_GET_SIZE(p) != 2 || !PyLong_Check(PyTuple_GET_ITEM(p, 0))) {
        PyErr_SetString(PyExc_TypeError, "a query program node is a term id or (op, payload)");
        return -1;
    }
    long op = PyLong_AsLong(PyTuple_GET_ITEM(p, 0));
    PyObject *payload = PyTuple_GET_ITEM(p, 1);
    switch (op) {
    case Q_LANG:
    case Q_CHANNEL:
        if (!PyUnicode_Check(payload)) {
            PyErr_SetString(PyExc_TypeError, "a field's value must be a str");
            return -1;
        }
        return 1;
    case Q_NOT: {
        Py_ssize_t k = program_count(payload, depth + 1);
        return k < 0 ? -1 : k + 1;
    }
    case Q_AND:
    case Q_OR: {
        if (!PyTuple_Check(payload) || PyTuple_GET_SIZE(payload) == 0) {
            PyErr_SetString(PyExc_TypeError, "AND / OR need a non-empty tuple of operands");
            return -1;
        }
        Py_ssize_t total = 1;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(payload); i++) {
            Py_ssize_t k = program_count(PyTuple_GET_ITEM(payload, i), depth + 1);
            if (k < 0) {
                return -1;
            }
            total += k;
        }
        return total;
    }
    default:
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "unknown query program operator");
        }
        return -1;
    }
}

/* Fill nodes from *pos on (already validated by program_count). -1 with an exception. */
static int
program_fill(PyObject *p, QNode *nodes, Py_ssize_t *pos)
{
    QNode *node = &nodes[(*pos)++];
    Py_ssize_t start = *pos - 1;
    node->entry = -1;
    if (PyLong_Check(p)) {
        node->op = Q_TERM;
        node->term_id = PyLong_AsLongLong(p);
        if (node->term_id == -1 && PyErr_Occurred()) {
            return -1;
        }
        node->size = 1;
        return 0;
    }
    long op = PyLong_AsLong(PyTuple_GET_ITEM(p, 0));
    PyObject *payload = PyTuple_GET_ITEM(p, 1);
    node->op = (uint8_t)op;
    if (op == Q_LANG || op == Q_CHANNEL) {
        node->value = Py_NewRef(payload);
        if (op == Q_LANG) {
            node->prefix = PyUnicode_FromFormat("%U-", payload);
            if (node->prefix == NULL) {
                return -1;
            }
        }
        node->size = 1;
        return 0;
    }
    if (op == Q_NOT) {
        if (program_fill(payload, nodes, pos) < 0) {
            return -1;
        }
    }
    else {
        node->count = (int32_t)PyTuple_GET_SIZE(payload);
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(payload); i++) {
            if (program_fill(PyTuple_GET_ITEM(payload, i), nodes, pos) < 0) {
                return -1;
            }
        }
    }
    /* `node` may not be used across the recursion if nodes moved; they do not (fixed array). */
    nodes[start].size = (int32_t)(*pos - start);
    return 0;
}

/* ----------------------------------------------------------------------------------------------
 * The Engine type
 * -------------------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    ModState *st;
    PyObject *module;   /* keeps st alive */
    PyObject *fallback; /* fold for texts this module defers (presentation forms) */
    Trie *trie;         /* NULL before set_terms */
    Slot *slots;
    Py_ssize_t nslots, slots_cap;
    Py_ssize_t *free_slots;
    Py_ssize_t nfree, free_cap;
    PyObject *slot_of; /* dict: query key -> slot number */
    /* anchor index: entry -> slots whose anchors include its term (rebuilt when stale) */
    int32_t *anchor_start; /* nentries + 1 */
    int32_t *anchor_slots;
    Py_ssize_t anchor_cap;
    int index_stale;
    uint32_t *entry_stamp; /* entry_stamp[e] == gen: entry e hit the current post */
    uint32_t gen;
    int busy;
} Engine;

static int
engine_enter(Engine *self)
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "the listening Engine was re-entered from a callback");
        return -1;
    }
    self->busy = 1;
    return 0;
}

static void
engine_leave(Engine *self)
{
    self->busy = 0;
}

static PyObject *
engine_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"fallback", NULL};
    PyObject *fallback = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:Engine", kwlist, &fallback)) {
        return NULL;
    }
    if (fallback != Py_None && !PyCallable_Check(fallback)) {
        PyErr_SetString(PyExc_TypeError, "fallback must be callable");
        return NULL;
    }
    PyObject *module = PyType_GetModule(type);
    if (module == NULL) {
        return NULL;
    }
    Engine *self = (Engine *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->st = get_state(module);
    self->module = Py_NewRef(module);
    self->fallback = fallback == Py_None ? NULL : Py_NewRef(fallback);
    self->slot_of = PyDict_New();
    if (self->slot_of == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    self->gen = 1;
    self->index_stale = 1;
    return (PyObject *)self;
}

static int
engine_traverse(Engine *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->module);
    Py_VISIT(self->fallback);
    Py_VISIT(self->slot_of);
    for (Py_ssize_t i = 0; i < self->nslots; i++) {
        Py_VISIT(self->slots[i].key);
    }
    return 0;
}

static void
engine_release(Engine *self)
{
    for (Py_ssize_t i = 0; i < self->nslots; i++) {
        slot_clear(&self->slots[i]);
    }
    PyMem_Free(self->slots);
    self->slots = NULL;
    self->nslots = self->slots_cap = 0;
    PyMem_Free(self->free_slots);
    self->free_slots = NULL;
    self->nfree = self->free_cap = 0;
    trie_free(self->trie);
    self->trie = NULL;
    PyMem_Free(self->anchor_start);
    PyMem_Free(self->anchor_slots);
    PyMem_Free(self->entry_stamp);
    self->anchor_start = self->anchor_slots = NULL;
    self->entry_stamp = NULL;
    self->anchor_cap = 0;
    self->index_stale = 1;
}

static int
engine_clear(Engine *self)
{
    engine_release(self);
    Py_CLEAR(self->fallback);
    Py_CLEAR(self->slot_of);
    Py_CLEAR(self->module);
    return 0;
}

static void
engine_dealloc(Engine *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    engine_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* Rebuild the entry -> slots index and resolve the programs' terms to entries. */
static int
engine_reindex(Engine *self)
{
    Trie *tr = self->trie;
    int32_t nentries = tr != NULL ? tr->nentries : 0;
    int32_t *start = PyMem_Calloc((size_t)nentries + 2, sizeof(int32_t));
    if (start == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < self->nslots; i++) {
        Slot *s = &self->slots[i];
        if (s->key == NULL) {
            continue;
        }
        for (Py_ssize_t k = 0; k < s->nanchors; k++) {
            int32_t e = entry_of_term(tr, s->anchors[k]);
            if (e >= 0) {
                start[e + 1]++;
                total++;
            }
        }
        for (Py_ssize_t k = 0; k < s->nprog; k++) {
            if (s->prog[k].op == Q_TERM) {
                s->prog[k].entry = entry_of_term(tr, s->prog[k].term_id);
            }
        }
    }
    if (total > INT32_MAX) {
        PyMem_Free(start);
        PyErr_SetString(PyExc_OverflowError, "too many anchors");
        return -1;
    }
    for (int32_t e = 0; e < nentries; e++) {
        start[e + 1] += start[e];
    }
    int32_t *list = PyMem_Malloc(sizeof(int32_t) * (size_t)(total > 0 ? total : 1));
    int32_t *fill = PyMem_Malloc(sizeof(int32_t) * (size_t)(nentries > 0 ? nentries : 1));
    if (list == NULL || fill == NULL) {
        PyMem_Free(start);
        PyMem_Free(list);
        PyMem_Free(fill);
        PyErr_NoMemory();
        return -1;
    }
    memcpy(fill, start, sizeof(int32_t) * (size_t)nentries);
    for (Py_ssize_t i = 0; i < self->nslots; i++) {
        Slot *s = &self->slots[i];
        if (s->key == NULL) {
            continue;
        }
        for (Py_ssize_t k = 0; k < s->nanchors; k++) {
            int32_t e = entry_of_term(tr, s->anchors[k]);
            if (e >= 0) {
                list[fill[e]++] = (int32_t)i;
            }
        }
    }
    PyMem_Free(fill);
    PyMem_Free(self->anchor_start);
    PyMem_Free(self->anchor_slots);
    self->anchor_start = start;
    self->anchor_slots = list;
    self->index_stale = 0;
    return 0;
}

PyDoc_STRVAR(set_terms_doc,
"set_terms(terms, /)\n--\n\n"
"Rebuild the trie from ``[(folded key, term id, kind), ...]`` (kind: 0 word or phrase,\n"
"1 hashtag, 2 account). Equal keys may appear with different ids and kinds.");

static PyObject *
engine_set_terms(Engine *self, PyObject *terms)
{
    if (engine_enter(self) < 0) {
        return NULL;
    }
    Trie *tr = trie_build(self->st, terms);
    if (tr == NULL) {
        engine_leave(self);
        return NULL;
    }
    uint32_t *stamps = PyMem_Calloc((size_t)(tr->nentries > 0 ? tr->nentries : 1), sizeof(uint32_t));
    if (stamps == NULL) {
        trie_free(tr);
        engine_leave(self);
        return PyErr_NoMemory();
    }
    trie_free(self->trie);
    PyMem_Free(self->entry_stamp);
    self->trie = tr;
    self->entry_stamp = stamps;
    self->index_stale = 1;
    engine_leave(self);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(set_query_doc,
"set_query(key, anchors, program, /)\n--\n\n"
"Add or replace the query ``key``: ``anchors`` are term ids one of which must hit; ``program``\n"
"is None (true on any anchor hit) or a term id / ``(op, payload)`` tree: (1, lang), (2, channel),\n"
"(3, operand) NOT, (4, operands) AND, (5, operands) OR.");

static PyObject *
engine_set_query(Engine *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "set_query(key, anchors, program)");
        return NULL;
    }
    PyObject *key = args[0], *anchors = args[1], *program = args[2];
    if (!PyTuple_Check(anchors)) {
        PyErr_SetString(PyExc_TypeError, "anchors must be a tuple of term ids");
        return NULL;
    }
    if (engine_enter(self) < 0) {
        return NULL;
    }
    Slot fresh;
    memset(&fresh, 0, sizeof(fresh));
    Py_ssize_t na = PyTuple_GET_SIZE(anchors);
    fresh.anchors = PyMem_Calloc((size_t)(na > 0 ? na : 1), sizeof(long long));
    if (fresh.anchors == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    fresh.nanchors = na;
    for (Py_ssize_t k = 0; k < na; k++) {
        fresh.anchors[k] = PyLong_AsLongLong(PyTuple_GET_ITEM(anchors, k));
        if (fresh.anchors[k] == -1 && PyErr_Occurred()) {
            goto error;
        }
    }
    if (program != Py_None) {
        Py_ssize_t count = program_count(program, 0);
        if (count < 0) {
            goto error;
        }
        fresh.prog = PyMem_Calloc((size_t)count, sizeof(QNode));
        if (fresh.prog == NULL) {
            PyErr_NoMemory();
            goto error;
        }
        fresh.nprog = count;
        Py_ssize_t pos = 0;
        if (program_fill(program, fresh.prog, &pos) < 0) {
            goto error;
        }
    }
    /* Find or make the slot (a dict lookup may run the key's __hash__/__eq__: we are busy). */
    PyObject *found = PyDict_GetItemWithError(self->slot_of, key);
    Py_ssize_t index;
    if (found != NULL) {
        index = PyLong_AsSsize_t(found);
        if (index < 0 || index >= self->nslots) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_RuntimeError, "corrupt slot table");
            }
            goto error;
        }
    }
    else {
        if (PyErr_Occurred()) {
            goto error;
        }
        if (self->nfree > 0) {
            index = self->free_slots[self->nfree - 1];
        }
        else {
            if (GROW(self->slots, self->slots_cap, self->nslots + 1) < 0) {
                goto error;
            }
            index = self->nslots;
            memset(&self->slots[index], 0, sizeof(Slot));
        }
        PyObject *number = PyLong_FromSsize_t(index);
        if (number == NULL) {
            goto error;
        }
        int rc = PyDict_SetItem(self->slot_of, key, number);
        Py_DECREF(number);
        if (rc < 0) {
            goto error;
        }
        if (self->nfree > 0 && self->free_slots[self->nfree - 1] == index) {
            self->nfree--;
        }
        else {
            self->nslots++;
        }
    }
    Slot *slot = &self->slots[index];
    slot_clear(slot);
    fresh.key = Py_NewRef(key);
    fresh.stamp = 0;
    *slot = fresh;
    self->index_stale = 1;
    engine_leave(self);
    Py_RETURN_NONE;

error:
    slot_clear(&fresh);
    engine_leave(self);
    return NULL;
}

PyDoc_STRVAR(remove_query_doc, "remove_query(key, /)\n--\n\nForget the query ``key``; False when there was none.");

static PyObject *
engine_remove_query(Engine *self, PyObject *key)
{
    if (engine_enter(self) < 0) {
        return NULL;
    }
    PyObject *found = PyDict_GetItemWithError(self->slot_of, key);
    if (found == NULL) {
        engine_leave(self);
        if (PyErr_Occurred()) {
            return NULL;
        }
        Py_RETURN_FALSE;
    }
    Py_ssize_t index = PyLong_AsSsize_t(found);
    if (index < 0 || index >= self->nslots) {
        engine_leave(self);
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_RuntimeError, "corrupt slot table");
        }
        return NULL;
    }
    if (GROW(self->free_slots, self->free_cap, self->nfree + 1) < 0) {
        engine_leave(self);
        return NULL;
    }
    if (PyDict_DelItem(self->slot_of, key) < 0) {
        engine_leave(self);
        return NULL;
    }
    slot_clear(&self->slots[index]);
    self->free_slots[self->nfree++] = index;
    self->index_stale = 1;
    engine_leave(self);
    Py_RETURN_TRUE;
}

/* --- matching one post --------------------------------------------------------------------- */

/* What a post brings besides its text, for lang: and channel: (normalized lazily, only when a
 * query with a field is evaluated). */
typedef struct {
    PyObject *lang_raw, *channel_raw; /* borrowed; NULL: "" */
    PyObject *seq_langs, *seq_channels; /* or fetched from these at `index` */
    Py_ssize_t index;
    PyObject *lang, *channel; /* normalized (owned), NULL until needed */
} Meta;

static void
meta_reset(Meta *m)
{
    Py_CLEAR(m->lang);
    Py_CLEAR(m->channel);
}

static PyObject *
call_method_chain(PyObject *obj, int is_lang)
{
    /* matcher._normal_lang(lang) = lang.strip().lower().replace("_", "-"); channel.strip().lower() */
    PyObject *a = PyObject_CallMethod(obj, "strip", NULL);
    if (a == NULL) {
        return NULL;
    }
    PyObject *b = PyObject_CallMethod(a, "lower", NULL);
    Py_DECREF(a);
    if (b == NULL || !is_lang) {
        return b;
    }
    PyObject *c = PyObject_CallMethod(b, "replace", "ss", "_", "-");
    Py_DECREF(b);
    return c;
}

/* The normalized language (is_lang) or channel of the post; a new reference is kept in m. */
static PyObject *
meta_get(Meta *m, int is_lang)
{
    PyObject **slot = is_lang ? &m->lang : &m->channel;
    if (*slot != NULL) {
        return *slot;
    }
    PyObject *raw;
    PyObject *seq = is_lang ? m->seq_langs : m->seq_channels;
    if (seq != NULL) {
        raw = PySequence_GetItem(seq, m->index);
        if (raw == NULL) {
            return NULL;
        }
    }
    else {
        raw = Py_XNewRef(is_lang ? m->lang_raw : m->channel_raw);
    }
    PyObject *value;
    int truth = raw == NULL ? 0 : PyObject_IsTrue(raw); /* `x if lang else ""` */
    if (truth < 0) {
        Py_XDECREF(raw);
        return NULL;
    }
    value = truth ? call_method_chain(raw, is_lang) : PyUnicode_FromStringAndSize("", 0);
    Py_XDECREF(raw);
    if (value == NULL) {
        return NULL;
    }
    *slot = value;
    return value;
}

/* Evaluate a program node against the current post: 1, 0, or -1 with an exception. */
static int
eval_node(Engine *self, const QNode *node, Meta *meta)
{
    switch (node->op) {
    case Q_TERM:
        return node->entry >= 0 && self->entry_stamp[node->entry] == self->gen;
    case Q_LANG: {
        PyObject *lang = meta_get(meta, 1);
        if (lang == NULL) {
            return -1;
        }
        int eq = PyObject_RichCompareBool(lang, node->value, Py_EQ);
        if (eq != 0) {
            return eq;
        }
        if (!PyUnicode_Check(lang)) {
            PyObject *r = PyObject_CallMethod(lang, "startswith", "O", node->prefix);
            if (r == NULL) {
                return -1;
            }
            int t = PyObject_IsTrue(r);
            Py_DECREF(r);
            return t;
        }
        Py_ssize_t t = PyUnicode_Tailmatch(lang, node->prefix, 0, PY_SSIZE_T_MAX, -1);
        return t < 0 ? -1 : (int)t;
    }
    case Q_CHANNEL: {
        PyObject *channel = meta_get(meta, 0);
        if (channel == NULL) {
            return -1;
        }
        return PyObject_RichCompareBool(channel, node->value, Py_EQ);
    }
    case Q_NOT: {
        int r = eval_node(self, node + 1, meta);
        return r < 0 ? r : !r;
    }
    case Q_AND:
    case Q_OR: {
        int want = node->op == Q_OR; /* the value that decides */
        const QNode *child = node + 1;
        for (int32_t k = 0; k < node->count; k++) {
            int r = eval_node(self, child, meta);
            if (r < 0) {
                return r;
            }
            if (r == want) {
                return want;
            }
            child += child->size;
        }
        return !want;
    }
    default:
        PyErr_SetString(PyExc_RuntimeError, "corrupt query program");
        return -1;
    }
}

static void
next_gen(Engine *self)
{
    self->gen++;
    if (self->gen == 0) { /* wrapped: forget every stamp */
        if (self->trie != NULL) {
            memset(self->entry_stamp, 0, sizeof(uint32_t) * (size_t)(self->trie->nentries > 0 ? self->trie->nentries : 1));
        }
        for (Py_ssize_t i = 0; i < self->nslots; i++) {
            self->slots[i].stamp = 0;
        }
        self->gen = 1;
    }
}

/* is_word_char without calling Python: -2 when only unicodedata can tell (an astral character
 * outside the emoji blocks that is not alphanumeric; the single pass never produces one). */
static inline int
word_char_nogil(const ModState *st, Py_UCS4 c)
{
    if (c < 0x10000) {
        return (st->tables->flags[c] & F_WORD) != 0;
    }
    if (Py_UNICODE_ISALNUM(c)) {
        return 1;
    }
    return c >= EMOJI_FIRST && c <= EMOJI_LAST ? 0 : -2;
}

/* Does the hit of entry e over f[start:end] stand? 1, 0, -1 with an exception, or (without
 * may_call) -2 when deciding needs Python. */
static inline int
boundary_ok(ModState *st, const Entry *e, const Py_UCS4 *f, Py_ssize_t n, const uint8_t *joined,
            Py_ssize_t start, Py_ssize_t end, int may_call)
{
#define WORD_CHAR(c) (may_call ? word_char(st, (c)) : word_char_nogil(st, (c)))
    int w;
    switch (e->kind) {
    case K_TEXT: /* sokhan.core.text.is_whole_word */
        if (start > 0 && e->first_word) {
            if (joined != NULL && joined[start]) {
                return 0; /* a match may not begin at a half space */
            }
            w = WORD_CHAR(f[start - 1]);
            if (w != 0) {
                return w < 0 ? w : 0;
            }
        }
        if (end == n || (joined != NULL && joined[end]) || !e->last_word) {
            return 1;
        }
        w = WORD_CHAR(f[end]);
        return w < 0 ? w : !w;
    case K_HASHTAG: /* matcher._hashtag_ends */
        if (start > 0) {
            if (f[start - 1] == '&') {
                return 0;
            }
            w = WORD_CHAR(f[start - 1]);
            if (w != 0) {
                return w < 0 ? w : 0;
            }
        }
        if (end == n) {
            return 1;
        }
        w = WORD_CHAR(f[end]);
        return w < 0 ? w : !w;
    default: { /* matcher._account_ends */
        if (start > 0) {
            if (not_before_account(f[start - 1])) {
                return 0;
            }
            w = WORD_CHAR(f[start - 1]);
            if (w != 0) {
                return w < 0 ? w : 0;
            }
        }
        if (end == n) {
            return 1;
        }
        Py_UCS4 after = f[end];
        if (after == '@') {
            return 0;
        }
        w = WORD_CHAR(after);
        if (w != 0) {
            return w < 0 ? w : 0;
        }
        if ((after == '.' || after == '-') && end + 1 < n && is_handle_char(f[end + 1])) {
            return 0;
        }
        return 1;
    }
    }
#undef WORD_CHAR
}

/* joined[i] for the folded text (NULL when it has no joins); *err set on failure. */
static const uint8_t *
build_joined(Work *w, int *err)
{
    *err = 0;
    if (w->joins_len == 0) {
        return NULL;
    }
    Py_ssize_t n = w->f_len;
    if (WGROW(w, w->joined, w->joined_cap, n + 1) < 0) {
        *err = 1;
        return NULL;
    }
    memset(w->joined, 0, (size_t)n + 1);
    for (Py_ssize_t k = 0; k < w->joins_len; k++) {
        w->joined[w->joins[k]] = 1; /* 0 <= joins[k] <= n, checked where they were made */
    }
    return w->joined;
}

/* The boundary rules over the walks' candidates: the entries that hit go to w->hits, stamped
 * with gen. 0, -1 with an exception (or w->oom), -2 when Python is needed and !may_call. */
static int
judge_candidates(ModState *st, const Trie *tr, Work *w, const uint8_t *joined, uint32_t *stamp, uint32_t gen,
                 int may_call)
{
    const Py_UCS4 *f = w->f;
    Py_ssize_t n = w->f_len;
    w->hits_len = 0;
    for (Py_ssize_t c = 0; c < w->cands_len; c++) {
        Py_ssize_t end = w->cands[c].end;
        int32_t t = w->cands[c].state;
        for (int32_t k = tr->entry_start[t]; k < tr->entry_start[t + 1]; k++) {
            if (stamp[k] == gen) {
                continue;
            }
            const Entry *e = &tr->entries[k];
            int ok = boundary_ok(st, e, f, n, joined, end - e->len, end, may_call);
            if (ok < 0) {
                return ok;
            }
            if (ok) {
                stamp[k] = gen;
                if (WGROW(w, w->hits, w->hits_cap, w->hits_len + 1) < 0) {
                    return -1;
                }
                w->hits[w->hits_len++] = k;
            }
        }
    }
    return 0;
}

/* Fold the post and find the entries that hit it (w->hits, stamped with the current gen).
 * 0, or -1 with an exception. */
static int
scan_post(Engine *self, Work *w, const Source *src)
{
    ModState *st = self->st;
    next_gen(self);
    w->hits_len = 0;
    const Trie *tr = self->trie;
    if (tr == NULL || tr->nentries == 0) {
        return 0;
    }
    int done = fast_fold(st, tr, w, src);
    if (done < 0) {
        return -1;
    }
    if (done == 0) { /* a rare character: all the passes */
        int deferred;
        if (fold_source(st, w, src, self->fallback, &deferred) < 0) {
            return -1;
        }
        if (deferred) {
            PyErr_SetString(PyExc_RuntimeError, "the Engine has no fallback fold for this text");
            return -1;
        }
    }
    int err;
    const uint8_t *joined = build_joined(w, &err);
    if (err) {
        return -1;
    }
    if (done == 0) {
        if (find_starts(st, tr, w, joined) < 0) {
            return -1;
        }
        w->cands_len = 0;
        for (Py_ssize_t k = 0; k < w->starts_len; k++) {
            if (walk(tr, w, w->starts[k]) < 0) {
                return -1;
            }
        }
    }
    return judge_candidates(st, tr, w, joined, self->entry_stamp, self->gen, 1) < 0 ? -1 : 0;
}

/* The keys of the queries the scanned post matches, added to *result (created when needed: a
 * set, or with `frozen` a frozenset). *atoms is cleared when a key is tracked by the GC. */
static int
collect_matches(Engine *self, Work *w, Meta *meta, PyObject **result, int frozen, int *atoms)
{
    for (Py_ssize_t h = 0; h < w->hits_len; h++) {
        int32_t e = w->hits[h];
        for (int32_t k = self->anchor_start[e]; k < self->anchor_start[e + 1]; k++) {
            Slot *slot = &self->slots[self->anchor_slots[k]];
            if (slot->stamp == self->gen) {
                continue;
            }
            slot->stamp = self->gen;
            int ok = 1;
            if (slot->prog != NULL) {
                ok = eval_node(self, slot->prog, meta);
                if (ok < 0) {
                    return -1;
                }
            }
            if (ok) {
                if (*result == NULL) {
                    *result = frozen ? PyFrozenSet_New(NULL) : PySet_New(NULL);
                    if (*result == NULL) {
                        return -1;
                    }
                }
                if (PySet_Add(*result, slot->key) < 0) { /* fills a new frozenset too */
                    return -1;
                }
                if (PyObject_GC_IsTracked(slot->key)) {
                    *atoms = 0;
                }
            }
        }
    }
    return 0;
}

static int
engine_ready(Engine *self)
{
    if (self->index_stale && engine_reindex(self) < 0) {
        return -1;
    }
    return 0;
}

/* Match one str post: a new set (possibly empty). */
static PyObject *
match_one(Engine *self, Work *w, PyObject *text, Meta *meta)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "a post's text must be a str, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    Source src;
    source_from_str(&src, text);
    if (scan_post(self, w, &src) < 0) {
        return NULL;
    }
    PyObject *result = NULL;
    int atoms = 1;
    if (collect_matches(self, w, meta, &result, 0, &atoms) < 0) {
        Py_XDECREF(result);
        return NULL;
    }
    return result != NULL ? result : PySet_New(NULL);
}

PyDoc_STRVAR(hits_doc, "hits(text, /)\n--\n\nThe ids of the terms that occur in ``text`` (after the boundary rules).");

static PyObject *
engine_hits(Engine *self, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "hits() needs a str");
        return NULL;
    }
    if (engine_enter(self) < 0) {
        return NULL;
    }
    Work w;
    memset(&w, 0, sizeof(w));
    Source src;
    source_from_str(&src, text);
    PyObject *result = NULL;
    if (scan_post(self, &w, &src) == 0) {
        result = PySet_New(NULL);
        for (Py_ssize_t h = 0; result != NULL && h < w.hits_len; h++) {
            if (PySet_Add(result, self->trie->entries[w.hits[h]].term_id) < 0) {
                Py_CLEAR(result);
            }
        }
    }
    work_free(&w);
    engine_leave(self);
    return result;
}

PyDoc_STRVAR(match_doc,
"match(text, lang, channel, /)\n--\n\n"
"The keys of the queries ``text`` matches, as ``Matcher.match``.");

static PyObject *
engine_match(Engine *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "match(text, lang, channel)");
        return NULL;
    }
    if (engine_enter(self) < 0) {
        return NULL;
    }
    PyObject *result = NULL;
    Work w;
    memset(&w, 0, sizeof(w));
    Meta meta;
    memset(&meta, 0, sizeof(meta));
    meta.lang_raw = args[1];
    meta.channel_raw = args[2];
    if (engine_ready(self) == 0) {
        result = match_one(self, &w, args[0], &meta);
    }
    meta_reset(&meta);
    work_free(&w);
    engine_leave(self);
    return result;
}

PyDoc_STRVAR(match_items_doc,
"match_items(items, /)\n--\n\n"
"``Matcher.match`` for each item of a sequence: a str (no metadata) or an object with ``text``,\n"
"``lang`` and ``channel`` attributes. Returns a list of sets.");

static PyObject *
engine_match_items(Engine *self, PyObject *items)
{
    PyObject *seq = PySequence_Fast(items, "items must be a sequence");
    if (seq == NULL) {
        return NULL;
    }
    if (engine_enter(self) < 0) {
        Py_DECREF(seq);
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *out = PyList_New(n);
    Work w;
    memset(&w, 0, sizeof(w));
    if (out == NULL || engine_ready(self) < 0) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        Meta meta;
        memset(&meta, 0, sizeof(meta));
        PyObject *text, *lang = NULL, *channel = NULL, *result;
        if (PyUnicode_Check(item)) {
            text = Py_NewRef(item);
        }
        else {
            text = PyObject_GetAttrString(item, "text");
            lang = text != NULL ? PyObject_GetAttrString(item, "lang") : NULL;
            channel = lang != NULL ? PyObject_GetAttrString(item, "channel") : NULL;
            if (channel == NULL) {
                Py_XDECREF(text);
                Py_XDECREF(lang);
                goto error;
            }
        }
        meta.lang_raw = lang;
        meta.channel_raw = channel;
        result = match_one(self, &w, text, &meta);
        meta_reset(&meta);
        Py_DECREF(text);
        Py_XDECREF(lang);
        Py_XDECREF(channel);
        if (result == NULL) {
            goto error;
        }
        PyList_SET_ITEM(out, i, result);
    }
    work_free(&w);
    engine_leave(self);
    Py_DECREF(seq);
    return out;

error:
    work_free(&w);
    engine_leave(self);
    Py_DECREF(seq);
    Py_XDECREF(out);
    return NULL;
}

/* --- match_lines on several threads ------------------------------------------------------- */

/* What a worker thread found on one line of its chunk. */
typedef struct {
    Py_ssize_t line;  /* within the chunk */
    Py_ssize_t off;   /* byte offset of the line in the buffer */
    Py_ssize_t len;   /* its length */
    Py_ssize_t first; /* its hits: pool[first : first + nhits] */
    int32_t nhits;    /* -1: deferred to the main thread (it needs Python) */
} LineOut;

/* A run of whole lines that one thread folds and scans without the GIL. Only the single pass is
 * used there; a line that needs Python (a rare character, an astral neighbour of a hit) is left
 * for the main thread, which also evaluates the queries. */
typedef struct {
    ModState *st;
    const Trie *tr;
    const int32_t *anchor_start; /* the Engine's index: does an entry wake a query? */
    const char *data;
    Py_ssize_t begin, end; /* byte range: whole lines */
    Py_ssize_t lines;      /* lines in the chunk (set by the thread) */
    Work w;
    uint32_t *stamp;
    uint32_t gen;
    LineOut *out;
    Py_ssize_t out_len, out_cap;
    int32_t *pool;
    Py_ssize_t pool_len, pool_cap;
    int oom;
    PyThread_type_lock done; /* held while the thread runs */
} Chunk;

static int
chunk_push(Chunk *c, Py_ssize_t line, Py_ssize_t off, Py_ssize_t len, int deferred)
{
    if (wgrow(&c->w, (void **)&c->out, &c->out_cap, c->out_len + 1, sizeof(LineOut)) < 0) {
        return -1;
    }
    LineOut *o = &c->out[c->out_len++];
    o->line = line;
    o->off = off;
    o->len = len;
    o->first = c->pool_len;
    o->nhits = deferred ? -1 : (int32_t)c->w.hits_len;
    if (!deferred) {
        if (wgrow(&c->w, (void **)&c->pool, &c->pool_cap, c->pool_len + c->w.hits_len, sizeof(int32_t)) < 0) {
            return -1;
        }
        memcpy(c->pool + c->pool_len, c->w.hits, sizeof(int32_t) * (size_t)c->w.hits_len);
        c->pool_len += c->w.hits_len;
    }
    return 0;
}

/* The body of a worker (no GIL: only raw allocations, no Python objects). */
static void
chunk_run(Chunk *c)
{
    Work *w = &c->w;
    const Trie *tr = c->tr;
    w->nogil = 1;
    Py_ssize_t pos = c->begin, line = 0;
    while (pos < c->end) {
        const char *nl = memchr(c->data + pos, '\n', (size_t)(c->end - pos));
        Py_ssize_t stop = nl != NULL ? (Py_ssize_t)(nl - c->data) : c->end;
        Source src = {SOURCE_UTF8, c->data + pos, stop - pos, NULL};
        if (++c->gen == 0) {
            memset(c->stamp, 0, sizeof(uint32_t) * (size_t)tr->nentries);
            c->gen = 1;
        }
        int deferred = 0;
        int r = fast_fold(c->st, tr, w, &src);
        if (r < 0) {
            break;
        }
        if (r == 0) {
            deferred = 1;
        }
        else {
            int err;
            const uint8_t *joined = build_joined(w, &err);
            if (err) {
                break;
            }
            r = judge_candidates(c->st, tr, w, joined, c->stamp, c->gen, 0);
            if (r == -1) {
                break;
            }
            deferred = r == -2;
        }
        int wakes = deferred;
        for (Py_ssize_t h = 0; !wakes && h < w->hits_len; h++) {
            int32_t e = w->hits[h];
            wakes = c->anchor_start[e] < c->anchor_start[e + 1];
        }
        if (wakes && chunk_push(c, line, pos, stop - pos, deferred) < 0) {
            break;
        }
        pos = stop + 1;
        line++;
    }
    c->lines = line;
    c->oom = w->oom;
}

static void
chunk_thread(void *arg)
{
    Chunk *c = arg;
    chunk_run(c);
    PyThread_release_lock(c->done);
}

static void
chunk_free(Chunk *c)
{
    work_free(&c->w);
    PyMem_RawFree(c->stamp);
    PyMem_RawFree(c->out);
    PyMem_RawFree(c->pool);
    if (c->done != NULL) {
        PyThread_free_lock(c->done);
    }
}

/* The (line, frozenset of keys) pair for one matched line, appended to out (nothing when no query
 * matched). When every key is an atom the GC does not track (an int, a str), neither the frozenset
 * nor the pair can ever be part of a reference cycle, and they are untracked, as CPython does with
 * such tuples: a million results then cost the collector nothing. */
static int
append_matches(Engine *self, Work *w, Meta *meta, PyObject *out, Py_ssize_t line)
{
    PyObject *result = NULL;
    int atoms = 1;
    int rc = collect_matches(self, w, meta, &result, 1, &atoms);
    meta_reset(meta);
    if (rc < 0) {
        Py_XDECREF(result);
        return -1;
    }
    if (result == NULL) {
        return 0;
    }
    PyObject *pair = Py_BuildValue("(nN)", line, result);
    if (pair == NULL) {
        return -1;
    }
    if (atoms) {
        PyObject_GC_UnTrack(result);
        PyObject_GC_UnTrack(pair);
    }
    rc = PyList_Append(out, pair);
    Py_DECREF(pair);
    return rc;
}

#define MAX_THREADS 64

/* match_lines with `nthreads` threads (the caller holds the busy flag and a ready index). */
static int
match_lines_threaded(Engine *self, const char *data, Py_ssize_t size, int nthreads, Meta *base, PyObject *out)
{
    const Trie *tr = self->trie;
    Chunk chunks[MAX_THREADS];
    memset(chunks, 0, sizeof(chunks));
    int started = 0, rc = -1;
    Work w;
    memset(&w, 0, sizeof(w));
    if (tr == NULL || tr->nentries == 0) {
        return 0;
    }
    /* Cut the buffer into runs of whole lines of about the same size. */
    Py_ssize_t begin = 0;
    for (int k = 0; k < nthreads; k++) {
        Chunk *c = &chunks[k];
        Py_ssize_t end = k == nthreads - 1 ? size : begin + (size - begin) / (nthreads - k);
        if (end < size) {
            const char *nl = end > begin ? memchr(data + end - 1, '\n', (size_t)(size - end + 1)) : NULL;
            end = nl != NULL ? (Py_ssize_t)(nl - data) + 1 : size;
        }
        c->st = self->st;
        c->tr = tr;
        c->anchor_start = self->anchor_start;
        c->data = data;
        c->begin = begin;
        c->end = end;
        c->stamp = PyMem_RawCalloc((size_t)tr->nentries, sizeof(uint32_t));
        c->done = PyThread_allocate_lock();
        if (c->stamp == NULL || c->done == NULL) {
            PyErr_NoMemory();
            goto finish;
        }
        begin = end;
    }
    /* Run chunk 0 here and the others on new threads, without the GIL. */
    Py_BEGIN_ALLOW_THREADS
    for (int k = 1; k < nthreads; k++) {
        PyThread_acquire_lock(chunks[k].done, WAIT_LOCK);
        if (PyThread_start_new_thread(chunk_thread, &chunks[k]) == PYTHREAD_INVALID_THREAD_ID) {
            PyThread_release_lock(chunks[k].done);
            chunks[k].oom = 2; /* could not start: done below, on this thread */
        }
        else {
            started++;
        }
    }
    chunk_run(&chunks[0]);
    for (int k = 1; k < nthreads; k++) {
        if (chunks[k].oom == 2) {
            chunks[k].oom = 0;
            chunk_run(&chunks[k]);
        }
        else {
            PyThread_acquire_lock(chunks[k].done, WAIT_LOCK); /* wait for it to finish */
            PyThread_release_lock(chunks[k].done);
        }
    }
    Py_END_ALLOW_THREADS
    for (int k = 0; k < nthreads; k++) {
        if (chunks[k].oom) {
            PyErr_NoMemory();
            goto finish;
        }
    }
    /* Evaluate the queries, in line order, with the GIL. */
    Py_ssize_t first_line = 0;
    for (int k = 0; k < nthreads; k++) {
        Chunk *c = &chunks[k];
        for (Py_ssize_t j = 0; j < c->out_len; j++) {
            LineOut *o = &c->out[j];
            Py_ssize_t line = first_line + o->line;
            Meta meta = *base;
            meta.index = line;
            if (o->nhits < 0) {
                Source src = {SOURCE_UTF8, data + o->off, o->len, NULL};
                if (scan_post(self, &w, &src) < 0) {
                    goto finish;
                }
            }
            else {
                next_gen(self);
                if (WGROW(&w, w.hits, w.hits_cap, o->nhits) < 0) {
                    goto finish;
                }
                for (int32_t h = 0; h < o->nhits; h++) {
                    int32_t e = c->pool[o->first + h];
                    self->entry_stamp[e] = self->gen;
                    w.hits[h] = e;
                }
                w.hits_len = o->nhits;
            }
            if (w.hits_len > 0 && append_matches(self, &w, &meta, out, line) < 0) {
                goto finish;
            }
        }
        first_line += c->lines;
    }
    rc = 0;
finish:
    work_free(&w);
    for (int k = 0; k < nthreads; k++) {
        chunk_free(&chunks[k]);
    }
    (void)started;
    return rc;
}

PyDoc_STRVAR(match_lines_doc,
"match_lines(data, lang, channel, langs, channels, threads=1, /)\n--\n\n"
"Match every line of ``data`` (bytes-like, UTF-8, lines end with b\"\\n\"; a last line without\n"
"one counts). ``langs`` / ``channels``: None, or sequences indexed by line number, read only\n"
"when a ``lang:`` / ``channel:`` query is evaluated for that line; otherwise every line has\n"
"``lang`` / ``channel``. With ``threads`` > 1 the lines are folded and scanned on that many\n"
"threads without the GIL (queries are still evaluated on the calling thread, in order). Returns\n"
"``[(line number, frozenset of keys), ...]`` for the lines that match.");

static PyObject *
engine_match_lines(Engine *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 && nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "match_lines(data, lang, channel, langs, channels, threads=1)");
        return NULL;
    }
    long threads = 1;
    if (nargs == 6) {
        threads = PyLong_AsLong(args[5]);
        if (threads == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (threads < 1 || threads > MAX_THREADS) {
            PyErr_Format(PyExc_ValueError, "threads must be between 1 and %d", MAX_THREADS);
            return NULL;
        }
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (engine_enter(self) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    PyObject *out = PyList_New(0);
    Work w;
    memset(&w, 0, sizeof(w));
    if (out == NULL || engine_ready(self) < 0) {
        goto error;
    }
    Meta base;
    memset(&base, 0, sizeof(base));
    base.lang_raw = args[1];
    base.channel_raw = args[2];
    base.seq_langs = args[3] != Py_None ? args[3] : NULL;
    base.seq_channels = args[4] != Py_None ? args[4] : NULL;
    const char *data = view.buf;
    Py_ssize_t size = view.len;
    if (threads > 1 && size >= 4096 * threads) {
        if (match_lines_threaded(self, data, size, (int)threads, &base, out) < 0) {
            goto error;
        }
    }
    else {
        Py_ssize_t pos = 0, line = 0;
        while (pos < size) {
            const char *nl = memchr(data + pos, '\n', (size_t)(size - pos));
            Py_ssize_t end = nl != NULL ? (Py_ssize_t)(nl - data) : size;
            Source src = {SOURCE_UTF8, data + pos, end - pos, NULL};
            if (scan_post(self, &w, &src) < 0) {
                goto error;
            }
            if (w.hits_len > 0) {
                Meta meta = base;
                meta.index = line;
                if (append_matches(self, &w, &meta, out, line) < 0) {
                    goto error;
                }
            }
            pos = end + 1;
            line++;
        }
    }
    work_free(&w);
    engine_leave(self);
    PyBuffer_Release(&view);
    return out;

error:
    work_free(&w);
    engine_leave(self);
    PyBuffer_Release(&view);
    Py_XDECREF(out);
    return NULL;
}

static PyObject *
engine_get_states(Engine *self, void *closure)
{
    return PyLong_FromLong(self->trie != NULL ? (long)self->trie->nstates : 0);
}

static PyObject *
engine_get_memory(Engine *self, void *closure)
{
    const Trie *tr = self->trie;
    if (tr == NULL) {
        return PyLong_FromLong(0);
    }
    size_t bytes = sizeof(int32_t) * (((size_t)tr->ndense << tr->shift) + 4 * (size_t)tr->nstates) +
                   sizeof(Entry) * (size_t)tr->nentries;
    return PyLong_FromSize_t(bytes);
}

static PyMethodDef engine_methods[] = {
    {"set_terms", (PyCFunction)engine_set_terms, METH_O, set_terms_doc},
    {"set_query", (PyCFunction)(void (*)(void))engine_set_query, METH_FASTCALL, set_query_doc},
    {"remove_query", (PyCFunction)engine_remove_query, METH_O, remove_query_doc},
    {"hits", (PyCFunction)engine_hits, METH_O, hits_doc},
    {"match", (PyCFunction)(void (*)(void))engine_match, METH_FASTCALL, match_doc},
    {"match_items", (PyCFunction)engine_match_items, METH_O, match_items_doc},
    {"match_lines", (PyCFunction)(void (*)(void))engine_match_lines, METH_FASTCALL, match_lines_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef engine_getset[] = {
    {"states", (getter)engine_get_states, NULL, "trie states", NULL},
    {"memory", (getter)engine_get_memory, NULL, "approximate bytes held by the trie", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(engine_doc,
"Engine(fallback=None)\n--\n\n"
"The compiled side of one ``Matcher``: the trie of terms (``set_terms``), the queries\n"
"(``set_query`` / ``remove_query``) and matching. ``fallback`` folds the texts ``fold`` defers.");

static PyType_Slot engine_slots[] = {
    {Py_tp_new, engine_new},
    {Py_tp_dealloc, engine_dealloc},
    {Py_tp_traverse, engine_traverse},
    {Py_tp_clear, engine_clear},
    {Py_tp_methods, engine_methods},
    {Py_tp_getset, engine_getset},
    {Py_tp_doc, (void *)engine_doc},
    {0, NULL},
};

static PyType_Spec engine_spec = {
    .name = "sokhan.listening._scan.Engine",
    .basicsize = sizeof(Engine),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = engine_slots,
};

/* ----------------------------------------------------------------------------------------------
 * Module
 * -------------------------------------------------------------------------------------------- */

static PyObject *
nfc_safe_ranges(PyObject *module, PyObject *unused)
{
    PyObject *out = PyTuple_New(N_NFC_SAFE);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < N_NFC_SAFE; i++) {
        PyObject *pair = Py_BuildValue("(kk)", (unsigned long)NFC_SAFE[i][0], (unsigned long)NFC_SAFE[i][1]);
        if (pair == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, i, pair);
    }
    return out;
}

static PyMethodDef module_methods[] = {
    {"fold", (PyCFunction)(void (*)(void))scan_fold, METH_FASTCALL, fold_doc},
    {"fold_passes", (PyCFunction)(void (*)(void))scan_fold_passes, METH_FASTCALL, fold_passes_doc},
    {"nfc_safe_ranges", nfc_safe_ranges, METH_NOARGS,
     "The code point ranges (inclusive) treated as NFC-inert without asking unicodedata."},
    {NULL, NULL, 0, NULL},
};

static int
module_exec(PyObject *module)
{
    ModState *st = get_state(module);
    PyObject *ud = PyImport_ImportModule("unicodedata");
    if (ud == NULL) {
        return -1;
    }
    st->category = PyObject_GetAttrString(ud, "category");
    st->is_normalized = PyObject_GetAttrString(ud, "is_normalized");
    st->normalize = PyObject_GetAttrString(ud, "normalize");
    Py_DECREF(ud);
    if (st->category == NULL || st->is_normalized == NULL || st->normalize == NULL) {
        return -1;
    }
    st->nfc = PyUnicode_InternFromString("NFC");
    if (st->nfc == NULL || build_tables(st) < 0) {
        return -1;
    }
    st->engine_type = PyType_FromModuleAndSpec(module, &engine_spec, NULL);
    if (st->engine_type == NULL) {
        return -1;
    }
    if (PyModule_AddObjectRef(module, "Engine", st->engine_type) < 0) {
        return -1;
    }
    if (PyModule_AddStringConstant(module, "EMOJI_RANGE", "1F000-1FBFF") < 0) {
        return -1;
    }
    return 0;
}

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    ModState *st = get_state(module);
    if (st == NULL) {
        return 0;
    }
    Py_VISIT(st->category);
    Py_VISIT(st->is_normalized);
    Py_VISIT(st->normalize);
    Py_VISIT(st->engine_type);
    return 0;
}

static int
module_clear(PyObject *module)
{
    ModState *st = get_state(module);
    if (st == NULL) {
        return 0;
    }
    Py_CLEAR(st->category);
    Py_CLEAR(st->is_normalized);
    Py_CLEAR(st->normalize);
    Py_CLEAR(st->nfc);
    Py_CLEAR(st->engine_type);
    return 0;
}

static void
module_free(void *module)
{
    ModState *st = get_state((PyObject *)module);
    module_clear((PyObject *)module);
    if (st != NULL && st->tables != NULL) {
        PyMem_RawFree(st->tables->multi);
        PyMem_RawFree(st->tables);
        st->tables = NULL;
    }
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "sokhan.listening._scan",
    .m_doc = "The listening matcher's hot loop in C: fold, term trie, boundaries, query evaluation.",
    .m_size = sizeof(ModState),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC
PyInit__scan(void)
{
    return PyModuleDef_Init(&scan_module);
}
