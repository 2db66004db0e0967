/* The frame path's fused kernel: a ruleset's requirements turned into lenders' bitmasks in
 * one pass over the rows (`matcher.lower_kernel` writes the program, `matcher.engine` runs it).
 *
 * The program is straight-line code over registers, each holding one block of rows. It runs
 * block after block: every instruction over a block of BLOCK rows, then the next block, so a
 * block's columns and registers stay in the processor's cache while the program runs over them
 * (Polars, an expression at a time over the whole column, writes each result to memory and
 * reads it back). The lowering decides every type, so the loops here are plain and the
 * compiler vectorises them. The GIL is released while it runs: two threads, two halves.
 *
 * run(program, registers, columns, outputs, tables, operands, vocabularies, start, stop)
 *   program    bytes, instructions of 32 bytes: int32 op, dst, a, b; int64 i; double f
 *   registers  the number of registers the program uses
 *   columns    a sequence of contiguous buffers (int64, float64 or uint8, by the loads), or
 *              for a string column an Arrow string view array's parts, a tuple (views, row
 *              offset, validity or None, data buffers): the views of 16 bytes (length, then
 *              the string itself when it is 12 bytes or shorter, zero padded, else its first
 *              4 bytes, its data buffer and its place there), or for a number column that
 *              may hold nulls an Arrow array's parts, a tuple (values of 8 bytes, row offset,
 *              validity or None), or for a boolean column (LOAD_U8) the same tuple of its
 *              Arrow bitmap (a bit per row, from the offset: read without a copy to bytes)
 *   outputs    a sequence of writable contiguous buffers, the bitmasks, each of its items'
 *              width (1, 2, 4 or 8 bytes), not zeroed (an `Arena`'s memory is reused): the
 *              program writes every row [start, stop) of each, its first PACK storing its
 *              bits, or a ZERO before the stores that OR theirs in
 *   tables     bytes, 256-byte lookup tables (a code or a boolean to a boolean)
 *   operands   bytes, int32 (register, bit) pairs: the requirements a PACK sets bits of
 *   vocabularies  bytes, closed lists of strings (CODE_STR): at an offset (a multiple of 8),
 *              uint64 count, slots, multiplier and whether a string is over 12 bytes long;
 *              then per string, and one more (the key no view has, lo 0 and hi 1: a slot
 *              holding no string), uint64 lo, hi (its key: an inline string's view, a
 *              longer one's length and first 4 bytes and zero), length, start (of its bytes,
 *              from the list's offset); then for a list looked up by hash (slots not 0) its
 *              perfect hash table, `slots` (a power of two) uint32 codes; then the bytes
 *   start, stop  the rows to run: [start, stop)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#ifndef BLOCK
#define BLOCK 2048
#endif

typedef struct {
    int32_t op, dst, a, b;
    int64_t i;
    double f;
} Instr;

/* A column the program reads: its values (a string column: its views), and for a string
 * column its validity, the row of its first view and its data buffers; for a nullable
 * number column its validity and the row of its first value. */
typedef struct {
    Py_buffer values;
    Py_buffer validity; /* .obj NULL: none */
    Py_ssize_t offset;
    Py_ssize_t ndata;
    Py_buffer *data;
    int strings;
    int nullable; /* a number column read with its validity (FILL_64, VALID) */
} Column;

/* what `execute` reads of a string column (of a nullable number column: its values, as
 * `views`, its validity and offset) */
typedef struct {
    const uint8_t *views, *validity;
    Py_ssize_t offset, ndata;
    const uint8_t *const *data;
    const Py_ssize_t *data_len;
} Strings;

enum {
    LOAD_I64 = 1, LOAD_F64, LOAD_U8,
    I2F,
    ADD_I, SUB_I, MUL_I, MIN_I, MAX_I, NEG_I, MODK_I,
    ADD_F, SUB_F, MUL_F, DIV_F, MIN_F, MAX_F, NEG_F, FMODK_F, DIVK_F,
    CONST_I, CONST_F, CONST_U8,
    LT_I, LE_I, GT_I, GE_I, EQ_I, NE_I,
    LT_F, LE_F, GT_F, GE_F, EQ_F, NE_F,
    LTK_I, LEK_I, GTK_I, GEK_I, EQK_I, NEK_I,
    LTK_F, LEK_F, GTK_F, GEK_F, EQK_F, NEK_F,
    AND, OR, TABLE, TABLE32,
    SELECT_U8, SELECT_I, SELECT_F,
    TMASK, TAND, TOR, TNOT, TSELECT, TSAND,
    BETWEENK_I, NEK_U8, CODE_STR, VALID, FILL_64,
    NARROW_I32, LTK_I32, LEK_I32, GTK_I32, GEK_I32, EQK_I32, NEK_I32, BETWEENK_I32,
    NARROW_I16, LTK_I16, LEK_I16, GTK_I16, GEK_I16, EQK_I16, NEK_I16, BETWEENK_I16,
    PACK_FALSE_1, PACK_FALSE_2, PACK_FALSE_4, PACK_FALSE_8,
    BITS_TRI_1, BITS_TRI_2, BITS_TRI_4, BITS_TRI_8,
    ADDK_I, MULK_I, ADDK_F, MULK_F, ZERO,
    OP_END
};

#define U8(r) ((uint8_t *)reg[(r)])

/* An instruction's immediates in locals, read once before its loop: read through `in` in
 * the loop, they are read again at every row (a store of a byte may alias them, so the
 * compiler cannot hoist them), which keeps it from being vectorised. */
#define IMMEDIATES                                                               \
    const int64_t imm = in->i;                                                   \
    const double fimm = in->f;                                                   \
    (void)imm;                                                                   \
    (void)fimm;

/* The shapes of every instruction but the loads and the stores, over the block: `z[k]` of
 * type TZ from `p = x[k]` (register a, type TX), with `q = y[k]` (register b) for ZIP and
 * `c = a[k]`, `p = b[k]`, `q = i[k]` (a boolean byte and two registers) for SELECT. */
#define MAP(TX, TZ, EXPR)                                                        \
    {                                                                            \
        IMMEDIATES                                                               \
        const TX *restrict x = (const TX *)reg[in->a];                           \
        TZ *restrict z = (TZ *)buf[in->dst];                                     \
        for (Py_ssize_t k = 0; k < n; k++) {                                     \
            const TX p = x[k];                                                   \
            z[k] = (TZ)(EXPR);                                                   \
        }                                                                        \
        reg[in->dst] = (char *)z;                                                \
    }                                                                            \
    break;

#define ZIP(TX, TZ, EXPR)                                                        \
    {                                                                            \
        const TX *restrict x = (const TX *)reg[in->a];                           \
        const TX *restrict y = (const TX *)reg[in->b];                           \
        TZ *restrict z = (TZ *)buf[in->dst];                                     \
        for (Py_ssize_t k = 0; k < n; k++) {                                     \
            const TX p = x[k], q = y[k];                                         \
            z[k] = (TZ)(EXPR);                                                   \
        }                                                                        \
        reg[in->dst] = (char *)z;                                                \
    }                                                                            \
    break;

#define SELECT(T, EXPR)                                                          \
    {                                                                            \
        const uint8_t *restrict w = U8(in->a);                                   \
        const T *restrict x = (const T *)reg[in->b];                             \
        const T *restrict y = (const T *)reg[in->i];                             \
        T *restrict z = (T *)buf[in->dst];                                       \
        for (Py_ssize_t k = 0; k < n; k++) {                                     \
            const uint8_t c = w[k];                                              \
            const T p = x[k], q = y[k];                                          \
            z[k] = (T)(EXPR);                                                    \
        }                                                                        \
        reg[in->dst] = (char *)z;                                                \
    }                                                                            \
    break;

/* a comparison with the immediate (i or f), a boolean byte */
#define COMPARE_K(T, K, OP) MAP(T, uint8_t, p OP (T)(K))

/* low <= x <= low + span in one unsigned comparison (low: i, span: f, both exact) */
#define BETWEEN_K(T, U) MAP(T, uint8_t, (U)((U)p - (U)imm) <= (U)fimm)

/* Most of a lender's bitmask (element type T) at once: up to PACK requirements, the
 * (register, bit) pairs `operands[i:i + 2 * b]`, each bit set where its requirement is false.
 * One pass over the output for up to PACK requirements, where a pass per requirement read
 * and wrote it each time (a third of the kernel's time). A pair past the count ORs nothing.
 * The output's first write (a 1) stores the bits, the others (a -1) OR them in: the output
 * is not zeroed first, nor read by its first write. */
#define PACK 8
#define PACK_FALSE(T)                                                            \
    {                                                                            \
        const int32_t *o = operands + in->i;                                     \
        const uint8_t *x[PACK];                                                  \
        T bits[PACK];                                                            \
        for (int j = 0; j < PACK; j++) {                                         \
            x[j] = U8(o[j < in->b ? 2 * j : 0]);                                 \
            bits[j] = j < in->b ? (T)((uint64_t)1 << o[2 * j + 1]) : (T)0;       \
        }                                                                        \
        const uint8_t *restrict x0 = x[0], *restrict x1 = x[1], *restrict x2 = x[2], \
                      *restrict x3 = x[3], *restrict x4 = x[4], *restrict x5 = x[5], \
                      *restrict x6 = x[6], *restrict x7 = x[7];                  \
        const T b0 = bits[0], b1 = bits[1], b2 = bits[2], b3 = bits[3], b4 = bits[4], \
                b5 = bits[5], b6 = bits[6], b7 = bits[7];                        \
        T *restrict out = (T *)out_ptr[in->dst] + row;                           \
        if (in->a == 1) {                                                        \
            for (Py_ssize_t k = 0; k < n; k++)                                   \
                out[k] = PACKED(T, k);                                           \
        } else {                                                                 \
            for (Py_ssize_t k = 0; k < n; k++)                                   \
                out[k] |= PACKED(T, k);                                          \
        }                                                                        \
    }                                                                            \
    break;
#define PACKED(T, k)                                                             \
    (T)((x0[k] ? 0 : b0) | (x1[k] ? 0 : b1) | (x2[k] ? 0 : b2) | (x3[k] ? 0 : b3) | \
        (x4[k] ? 0 : b4) | (x5[k] ? 0 : b5) | (x6[k] ? 0 : b6) | (x7[k] ? 0 : b7))

/* the failed (dst) and unknown (b) bitmasks of a three-valued requirement: 0 false, 1 true,
 * 2 unknown */
#define BITS_TRI(T)                                                              \
    {                                                                            \
        const uint8_t *restrict x = U8(in->a);                                   \
        T *restrict failed = (T *)out_ptr[in->dst] + row;                        \
        T *restrict unknown = (T *)out_ptr[in->b] + row;                         \
        const T bit = (T)((uint64_t)1 << in->i);                                 \
        for (Py_ssize_t k = 0; k < n; k++) {                                     \
            failed[k] |= x[k] == 0 ? bit : (T)0;                                 \
            unknown[k] |= x[k] == 2 ? bit : (T)0;                                \
        }                                                                        \
    }                                                                            \
    break;

/* A view's key: its two halves, the bytes past an inline string's end zeroed (the format zero
 * pads them; a writer that did not is read alike), by masks looked up by the length up to 12:
 * the length's bits and min(n, 4) bytes kept of the first half, max(n - 4, 0) bytes of the
 * second; for a longer string (13) the first half whole (its length and first 4 bytes) and
 * the second zero (its buffer and place are no part of the string: read from the view when
 * its bytes are compared). Looked up, not shifted: the loop over a block's views is
 * vectorised (GCC does not vectorise its variable 64-bit shifts). */
#define BYTES(n) ((n) >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * (n))) - 1)
#define FIRST(n) BYTES(4 + ((n) < 4 ? (n) : 4))
#define SECOND(n) BYTES((n) > 4 ? (n) - 4 : 0)
static const uint64_t first_half[16] = {
    FIRST(0), FIRST(1), FIRST(2), FIRST(3), FIRST(4), FIRST(5), FIRST(6),
    FIRST(7), FIRST(8), FIRST(9), FIRST(10), FIRST(11), FIRST(12), ~(uint64_t)0, 0, 0,
};
static const uint64_t second_half[16] = {
    SECOND(0), SECOND(1), SECOND(2), SECOND(3), SECOND(4), SECOND(5), SECOND(6),
    SECOND(7), SECOND(8), SECOND(9), SECOND(10), SECOND(11), SECOND(12), 0, 0, 0,
};

static inline void
view_key(const uint64_t *view, uint64_t *lo, uint64_t *hi)
{
    const uint64_t a = view[0], b = view[1];
    const uint64_t len = a & 0xffffffffu;
    const uint64_t n = len < 13 ? len : 13;
    *lo = a & first_half[n];
    *hi = b & second_half[n];
}

/* The bytes of 8 rows from their validity bits (bit i of `byte` for row i): 0xff where valid,
 * 0 where null. Each bit moved to its own byte by one multiplication, then spread over it. */
static inline uint64_t
valid_bytes(uint8_t byte)
{
    const uint64_t bit = ((uint64_t)byte * 0x0101010101010101u) & 0x8040201008040201u;
    return (((bit + 0x7f7f7f7f7f7f7f7fu) & 0x8080808080808080u) >> 7) * 0xffu;
}

/* `z[k]` kept where row first + k is valid (bit first + k of `valid`), 0 where null: 8 rows
 * a step, a byte of bits each (the bits of a step straddle two bytes where first is not a
 * multiple of 8). `ones` 1 keeps 1, not `z[k]`: the rows' validity as bytes. */
static inline void
keep_valid(uint8_t *z, const uint8_t *valid, Py_ssize_t first, Py_ssize_t n, int ones)
{
    const uint8_t *v = valid + (first >> 3);
    const unsigned shift = (unsigned)(first & 7);
    Py_ssize_t k = 0;
    for (Py_ssize_t step = 0; k + 8 <= n; step++, k += 8) {
        /* the next byte holds some of these rows' bits only when shifted */
        unsigned bits = shift ? ((unsigned)v[step] | ((unsigned)v[step + 1] << 8)) >> shift
                              : v[step];
        uint64_t mask = valid_bytes((uint8_t)bits), rows;
        if (ones) {
            rows = mask & 0x0101010101010101u;
        } else {
            memcpy(&rows, z + k, 8);
            rows &= mask;
        }
        memcpy(z + k, &rows, 8);
    }
    for (; k < n; k++) {
        const Py_ssize_t bit = first + k;
        const uint8_t on = (valid[bit >> 3] >> (bit & 7)) & 1;
        z[k] = ones ? on : (on ? z[k] : 0);
    }
}

/* Whether the long string of view (lo, hi) of a string column is `len` bytes `want`: its data
 * buffer and place read from the view, checked against the buffers (a view out of them is no
 * match). */
static inline int
long_equal(const Strings *s, uint64_t hi, const uint8_t *want, uint64_t len)
{
    const uint64_t buffer = hi & 0xffffffffu, place = hi >> 32;
    if (buffer >= (uint64_t)s->ndata || place > (uint64_t)s->data_len[buffer] ||
        len > (uint64_t)s->data_len[buffer] - place)
        return 0;
    return memcmp(s->data[buffer] + place, want, len) == 0;
}

/* Integers to doubles and back without a conversion instruction per value (AVX2 has none
 * for 64-bit integers, so the compiler converts one value at a time): for |x| < 2^51,
 * x + 1.5 * 2^52 is a double whose low bits are x's, so adding the two's bits and
 * subtracting the double is exact, and vectorised. `small` tells whether every value of
 * a block is in that range (else the loops convert one at a time). */
#define MAGIC_BITS 0x4338000000000000u /* 1.5 * 2^52 */
#define MAGIC 6755399441055744.0

/* nonzero when x is outside (-2^51, 2^51) */
static inline uint64_t
beyond_small(int64_t x)
{
    return ((uint64_t)x + ((uint64_t)1 << 51)) >> 52;
}

static inline int
small(const int64_t *restrict x, Py_ssize_t n)
{
    uint64_t outside = 0;
    for (Py_ssize_t k = 0; k < n; k++)
        outside |= beyond_small(x[k]);
    return outside == 0;
}

static inline double
small_to_double(int64_t x)
{
    const uint64_t bits = (uint64_t)x + MAGIC_BITS;
    double d;
    memcpy(&d, &bits, 8);
    return d - MAGIC;
}

static inline int64_t
double_to_small(double d) /* d an integer, |d| < 2^51 */
{
    const double shifted = d + MAGIC;
    uint64_t bits;
    memcpy(&bits, &shifted, 8);
    return (int64_t)(bits - MAGIC_BITS);
}

/* A closed list of `PERFECT_FROM` strings or more (`matcher.lower_kernel`) is looked up by a
 * perfect hash of the keys (`view_key`): the lowering picks a multiplier under which no two
 * of its keys share a slot, so a row's code is its slot's, kept where the row's key is that
 * code's (no probing: a lookup per row, where comparing each row with every string in turn
 * costs a pass per string). The slot: the top bits of a multiplication, which every bit of
 * the key moves (`shift`: 64 less the slots' bits). */
#define HASH_MAX_SLOTS 8192
#define SMALL_SLOTS 16 /* a table and strings this few are looked up in vector registers */

static inline uint64_t
key_hash(uint64_t lo, uint64_t hi, uint64_t multiplier, unsigned shift)
{
    return ((lo ^ (hi * 0x9e3779b97f4a7c15u)) * multiplier) >> shift;
}

/* A closed list as CODE_STR reads it: its strings' entries (lo, hi, length, start; the
 * one past the last the key of no view, for a slot holding none) and perfect hash table. */
typedef struct {
    const uint64_t *entries;
    uint64_t values;
    const uint32_t *slot; /* `slots` codes (`values`: none) */
    uint64_t slots, multiplier;
    unsigned shift;
} Hashed;

/* the code of a view by the list's perfect hash: its place, 255 for another string */
static inline uint8_t
hashed_code(const Hashed *list, const uint64_t *view)
{
    uint64_t a, b;
    view_key(view, &a, &b);
    const uint32_t j = list->slot[key_hash(a, b, list->multiplier, list->shift)];
    const int found = (list->entries[4 * j] == a) & (list->entries[4 * j + 1] == b);
    return found ? (uint8_t)j : 255;
}

#if defined(__x86_64__) && defined(__GNUC__)
static int avx512 = 0; /* AVX-512 F and DQ: the processor runs `hashed_codes_avx512` */

/* `hashed_code` of the views of n rows, 8 rows a step: the keys' masks looked up in two
 * vector registers by the length; the table and the strings of a list of up to SMALL_SLOTS
 * (and fewer strings) too, a larger list's gathered from memory. GCC does not gather for
 * the processors it tunes for by default, nor would it keep a small table in registers. */
__attribute__((target("avx512f,avx512dq"))) static void
hashed_codes_avx512(const Hashed *list, const uint64_t *views, Py_ssize_t n, uint8_t *z)
{
    const __m512i first0 = _mm512_loadu_si512(first_half), first1 = _mm512_loadu_si512(first_half + 8);
    const __m512i second0 = _mm512_loadu_si512(second_half);
    const __m512i second1 = _mm512_loadu_si512(second_half + 8);
    const __m512i even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    const __m512i odd = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
    const __m512i length = _mm512_set1_epi64(0xffffffff), longest = _mm512_set1_epi64(13);
    const __m512i golden = _mm512_set1_epi64((long long)0x9e3779b97f4a7c15u);
    const __m512i multiplier = _mm512_set1_epi64((long long)list->multiplier);
    const __m512i none = _mm512_set1_epi64(255);
    const __m128i shift = _mm_cvtsi32_si128((int)list->shift);
    const int small = list->slots <= SMALL_SLOTS && list->values < SMALL_SLOTS;
    uint64_t table[SMALL_SLOTS] = {0}, lo[SMALL_SLOTS] = {0}, hi[SMALL_SLOTS] = {0};
    if (small) { /* the table's slots and the strings' keys, each in two registers */
        for (uint64_t j = 0; j < SMALL_SLOTS; j++) {
            const uint64_t e = j <= list->values ? j : list->values;
            table[j] = j < list->slots ? list->slot[j] : list->values;
            lo[j] = list->entries[4 * e], hi[j] = list->entries[4 * e + 1];
        }
    }
    const __m512i table0 = _mm512_loadu_si512(table), table1 = _mm512_loadu_si512(table + 8);
    const __m512i lo0 = _mm512_loadu_si512(lo), lo1 = _mm512_loadu_si512(lo + 8);
    const __m512i hi0 = _mm512_loadu_si512(hi), hi1 = _mm512_loadu_si512(hi + 8);
    Py_ssize_t k = 0;
    for (; k + 8 <= n; k += 8) {
        const __m512i v0 = _mm512_loadu_si512(views + 2 * k);
        const __m512i v1 = _mm512_loadu_si512(views + 2 * k + 8);
        __m512i a = _mm512_permutex2var_epi64(v0, even, v1);
        __m512i b = _mm512_permutex2var_epi64(v0, odd, v1);
        const __m512i size = _mm512_min_epu64(_mm512_and_si512(a, length), longest);
        a = _mm512_and_si512(a, _mm512_permutex2var_epi64(first0, size, first1));
        b = _mm512_and_si512(b, _mm512_permutex2var_epi64(second0, size, second1));
        const __m512i mixed = _mm512_xor_si512(a, _mm512_mullo_epi64(b, golden));
        const __m512i h = _mm512_srl_epi64(_mm512_mullo_epi64(mixed, multiplier), shift);
        __m512i j, want_lo, want_hi;
        if (small) {
            j = _mm512_permutex2var_epi64(table0, h, table1);
            want_lo = _mm512_permutex2var_epi64(lo0, j, lo1);
            want_hi = _mm512_permutex2var_epi64(hi0, j, hi1);
        } else {
            j = _mm512_cvtepu32_epi64(_mm512_i64gather_epi32(h, list->slot, 4));
            const __m512i at = _mm512_slli_epi64(j, 2); /* the entry's first uint64 */
            want_lo = _mm512_i64gather_epi64(at, list->entries, 8);
            want_hi = _mm512_i64gather_epi64(at, list->entries + 1, 8);
        }
        const __mmask8 found =
            _mm512_cmpeq_epi64_mask(a, want_lo) & _mm512_cmpeq_epi64_mask(b, want_hi);
        _mm_storel_epi64((__m128i *)(z + k),
                         _mm512_cvtepi64_epi8(_mm512_mask_blend_epi64(found, none, j)));
    }
    for (; k < n; k++)
        z[k] = hashed_code(list, views + 2 * k);
}
#endif

/* compiled for each of these instruction sets, the best one the processor has picked when
 * the module is loaded (a build copied to an older processor still runs) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static void
execute(const Instr *program, Py_ssize_t count, char **buf, char **reg, char *const *col_ptr,
        const Strings *strs, char *const *out_ptr, const Py_ssize_t *out_width, Py_ssize_t nouts,
        const uint8_t *tables, const int32_t *operands, const uint8_t *vocab, uint64_t *lo,
        uint64_t *hi, Py_ssize_t start, Py_ssize_t stop)
{
    for (Py_ssize_t row = start; row < stop; row += BLOCK) {
        const Py_ssize_t n = stop - row < BLOCK ? stop - row : BLOCK;
        for (Py_ssize_t pc = 0; pc < count; pc++) {
            const Instr *in = &program[pc];
            switch (in->op) {
            case LOAD_I64:
                reg[in->dst] = col_ptr[in->a] + row * 8;
                break;
            case LOAD_F64:
                reg[in->dst] = col_ptr[in->a] + row * 8;
                break;
            case LOAD_U8:
                if (strs[in->a].views != NULL) { /* Polars' bitmap: a byte per row of it */
                    const Strings *s = &strs[in->a];
                    keep_valid((uint8_t *)buf[in->dst], s->views, s->offset + row, n, 1);
                    reg[in->dst] = buf[in->dst];
                } else {
                    reg[in->dst] = col_ptr[in->a] + row;
                }
                break;
            case I2F: {
                const int64_t *restrict x = (const int64_t *)reg[in->a];
                double *restrict z = (double *)buf[in->dst];
                /* converted and checked in one pass (`small`'s test); again, one value at
                 * a time, where a value was too large */
                uint64_t outside = 0;
                for (Py_ssize_t k = 0; k < n; k++) {
                    outside |= beyond_small(x[k]);
                    z[k] = small_to_double(x[k]);
                }
                if (outside) {
                    for (Py_ssize_t k = 0; k < n; k++)
                        z[k] = (double)x[k];
                }
                reg[in->dst] = (char *)z;
                break;
            }
            case ADD_I: ZIP(int64_t, int64_t, p + q)
            case SUB_I: ZIP(int64_t, int64_t, p - q)
            case MUL_I: ZIP(int64_t, int64_t, p * q)
            case MIN_I: ZIP(int64_t, int64_t, p < q ? p : q)
            case MAX_I: ZIP(int64_t, int64_t, p > q ? p : q)
            case NEG_I: MAP(int64_t, int64_t, -p)
            /* C's remainder truncates: the sign of the dividend, as JsonLogic's. For
             * values and a divisor under 2^51 in size, by doubles, vectorised where an
             * integer division is one at a time: the quotient's truncation is exact below
             * 2^53 (a rounding can reach the next integer only from within |x| * 2^-53 of
             * it, and a quotient that is not one is at least 1 / |divisor| from it), and
             * so are its product with the divisor and the difference, integers below
             * 2^52 */
            case MODK_I: {
                const int64_t *restrict x = (const int64_t *)reg[in->a];
                int64_t *restrict z = (int64_t *)buf[in->dst];
                const int64_t divisor = in->i;
                if (divisor > -((int64_t)1 << 51) && divisor < ((int64_t)1 << 51) &&
                    small(x, n)) {
                    const double d = (double)divisor;
                    for (Py_ssize_t k = 0; k < n; k++) {
                        const double p = small_to_double(x[k]);
                        z[k] = double_to_small(p - trunc(p / d) * d);
                    }
                } else {
                    for (Py_ssize_t k = 0; k < n; k++)
                        z[k] = x[k] % divisor;
                }
                reg[in->dst] = (char *)z;
                break;
            }
            case ADD_F: ZIP(double, double, p + q)
            case SUB_F: ZIP(double, double, p - q)
            case MUL_F: ZIP(double, double, p * q)
            case DIV_F: ZIP(double, double, p / q)
            case MIN_F: ZIP(double, double, p < q ? p : q)
            case MAX_F: ZIP(double, double, p > q ? p : q)
            case NEG_F: MAP(double, double, -p)
            case FMODK_F: MAP(double, double, fmod(p, fimm))
            case DIVK_F: MAP(double, double, p / fimm)
            case CONST_I: {
                int64_t *restrict z = (int64_t *)buf[in->dst];
                const int64_t value = in->i;
                for (Py_ssize_t k = 0; k < n; k++)
                    z[k] = value;
                reg[in->dst] = (char *)z;
                break;
            }
            case CONST_F: {
                double *restrict z = (double *)buf[in->dst];
                const double value = in->f;
                for (Py_ssize_t k = 0; k < n; k++)
                    z[k] = value;
                reg[in->dst] = (char *)z;
                break;
            }
            case CONST_U8:
                memset(buf[in->dst], (int)in->i, (size_t)n);
                reg[in->dst] = buf[in->dst];
                break;
            case LT_I: ZIP(int64_t, uint8_t, p < q)
            case LE_I: ZIP(int64_t, uint8_t, p <= q)
            case GT_I: ZIP(int64_t, uint8_t, p > q)
            case GE_I: ZIP(int64_t, uint8_t, p >= q)
            case EQ_I: ZIP(int64_t, uint8_t, p == q)
            case NE_I: ZIP(int64_t, uint8_t, p != q)
            case LT_F: ZIP(double, uint8_t, p < q)
            case LE_F: ZIP(double, uint8_t, p <= q)
            case GT_F: ZIP(double, uint8_t, p > q)
            case GE_F: ZIP(double, uint8_t, p >= q)
            case EQ_F: ZIP(double, uint8_t, p == q)
            case NE_F: ZIP(double, uint8_t, p != q)
            case LTK_I: COMPARE_K(int64_t, imm, <)
            case LEK_I: COMPARE_K(int64_t, imm, <=)
            case GTK_I: COMPARE_K(int64_t, imm, >)
            case GEK_I: COMPARE_K(int64_t, imm, >=)
            case EQK_I: COMPARE_K(int64_t, imm, ==)
            case NEK_I: COMPARE_K(int64_t, imm, !=)
            case LTK_F: COMPARE_K(double, fimm, <)
            case LEK_F: COMPARE_K(double, fimm, <=)
            case GTK_F: COMPARE_K(double, fimm, >)
            case GEK_F: COMPARE_K(double, fimm, >=)
            case EQK_F: COMPARE_K(double, fimm, ==)
            case NEK_F: COMPARE_K(double, fimm, !=)
            case AND: ZIP(uint8_t, uint8_t, p & q)
            case OR: ZIP(uint8_t, uint8_t, p | q)
            case TABLE: MAP(uint8_t, uint8_t, tables[256 * imm + p])
            /* a byte below 32 through a 32-bit mask: shifts, where TABLE gathers */
            case TABLE32: MAP(uint8_t, uint8_t, ((uint32_t)imm >> (p & 31u)) & 1u)
            /* booleans (0 or 1): bitwise, no branch or blend */
            case SELECT_U8: SELECT(uint8_t, (c & p) | ((c ^ 1u) & q))
            case SELECT_I: SELECT(int64_t, c ? p : q)
            case SELECT_F: SELECT(double, c ? p : q)
            /* three-valued booleans: 0 false, 1 true, 2 unknown (Kleene's logic, as Polars') */
            case TMASK: ZIP(uint8_t, uint8_t, q ? p : 2)
            case TAND: ZIP(uint8_t, uint8_t, (p == 0 || q == 0) ? 0 : (p > q ? p : q))
            case TOR: ZIP(uint8_t, uint8_t, (p == 1 || q == 1) ? 1 : (p > q ? p : q))
            /* strict: unknown where either is (a chained comparison with a null operand) */
            case TSAND: ZIP(uint8_t, uint8_t, (p == 2 || q == 2) ? 2 : (p & q))
            case TNOT: MAP(uint8_t, uint8_t, p == 2 ? 2 : p ^ 1u)
            case TSELECT: SELECT(uint8_t, c == 2 ? 2 : (c ? p : q))
            case BETWEENK_I: BETWEEN_K(int64_t, uint64_t)
            case NEK_U8: COMPARE_K(uint8_t, imm, !=)
            /* a string's code in a closed list (vocabulary at i): its place, 255 for another
             * string, 0 where the value is null (VALID tells) */
            case CODE_STR: {
                const Strings *s = &strs[in->a];
                /* 8-byte aligned (checked) */
                const uint64_t *views = (const uint64_t *)s->views + 2 * (s->offset + row);
                uint8_t *restrict z = (uint8_t *)buf[in->dst];
                const uint8_t *list = vocab + in->i;
                uint64_t values, slots, multiplier, longs;
                memcpy(&values, list, 8);
                memcpy(&slots, list + 8, 8);
                memcpy(&multiplier, list + 16, 8);
                memcpy(&longs, list + 24, 8);
                /* lo, hi, length, start per string (8-byte aligned, checked) */
                const uint64_t *entries = (const uint64_t *)(list + 32);
                const Hashed hashed = {
                    entries, values, (const uint32_t *)(entries + 4 * (values + 1)), slots,
                    multiplier, slots ? 64u - (unsigned)__builtin_ctzll(slots) : 0,
                };
#if defined(__x86_64__) && defined(__GNUC__)
                if (slots && avx512) { /* by its perfect hash, vectorised */
                    hashed_codes_avx512(&hashed, views, n, z);
                } else
#endif
                if (slots > SMALL_SLOTS) { /* by its perfect hash, a row at a time */
                    for (Py_ssize_t k = 0; k < n; k++)
                        z[k] = hashed_code(&hashed, views + 2 * k);
                } else { /* each string in turn, on the keys of the block */
                    uint64_t *restrict keys_lo = lo, *restrict keys_hi = hi;
                    for (Py_ssize_t k = 0; k < n; k++)
                        view_key(views + 2 * k, &keys_lo[k], &keys_hi[k]);
                    memset(z, 255, BLOCK); /* a register's block (n rows or more) */
                    for (uint64_t j = 0; j < values; j++) {
                        const uint64_t want_lo = entries[4 * j], want_hi = entries[4 * j + 1];
                        for (Py_ssize_t k = 0; k < n; k++)
                            z[k] = ((lo[k] == want_lo) & (hi[k] == want_hi)) ? (uint8_t)j : z[k];
                    }
                }
                /* a long string's key is its length and first 4 bytes: the rest of its
                 * bytes compared, with the string of its key (longs 1), or where long
                 * strings of the list share a key (2) with each of them in turn */
                if (longs) {
                    /* the long rows first listed (no branch per row: a branch taken at
                     * random rows is mispredicted at many of them), then compared */
                    uint32_t *restrict long_rows = (uint32_t *)lo; /* scratch, keys read */
                    Py_ssize_t count = 0;
                    for (Py_ssize_t k = 0; k < n; k++) {
                        long_rows[count] = (uint32_t)k;
                        count += (views[2 * k] & 0xffffffffu) > 12;
                    }
                    for (Py_ssize_t r = 0; r < count; r++) {
                        const Py_ssize_t k = long_rows[r];
                        const uint64_t a = views[2 * k], b = views[2 * k + 1];
                        const uint64_t found = z[k];
                        z[k] = 255;
                        for (uint64_t j = longs == 1 ? found : 0; j < values; j++) {
                            const uint64_t *entry = entries + 4 * j; /* lo, hi, length, start */
                            if (entry[2] > 12 && entry[0] == a &&
                                long_equal(s, b, list + entry[3], entry[2]))
                                z[k] = (uint8_t)j;
                            if (longs == 1)
                                break;
                        }
                    }
                }
                if (s->validity != NULL)
                    keep_valid(z, s->validity, s->offset + row, n, 0);
                reg[in->dst] = (char *)z;
                break;
            }
            /* a nullable number column's values (8 bytes, integer or double), 0 where
             * null (whatever the values' buffer holds there) */
            case FILL_64: {
                const Strings *s = &strs[in->a];
                /* 8-byte aligned (checked) */
                const uint64_t *values = (const uint64_t *)s->views + s->offset + row;
                if (s->validity == NULL) { /* no null: read in place */
                    reg[in->dst] = (char *)values;
                    break;
                }
                uint8_t *restrict valid = (uint8_t *)lo; /* scratch: a block's bytes */
                keep_valid(valid, s->validity, s->offset + row, n, 1);
                uint64_t *restrict z = (uint64_t *)buf[in->dst];
                for (Py_ssize_t k = 0; k < n; k++)
                    z[k] = values[k] & (0 - (uint64_t)valid[k]);
                reg[in->dst] = (char *)z;
                break;
            }
            /* 1 where a string (or nullable number) column's value is not null */
            case VALID: {
                const Strings *s = &strs[in->a];
                uint8_t *restrict z = (uint8_t *)buf[in->dst];
                if (s->validity == NULL)
                    memset(z, 1, (size_t)n);
                else
                    keep_valid(z, s->validity, s->offset + row, n, 1);
                reg[in->dst] = (char *)z;
                break;
            }
            /* an integer column compared many times, read once per block in a narrower type
             * that holds its bounds (a value outside wraps; the frame's check, on the full
             * value, refuses the frame that holds it): more values per vector */
            case NARROW_I32: MAP(int64_t, int32_t, p)
            case LTK_I32: COMPARE_K(int32_t, imm, <)
            case LEK_I32: COMPARE_K(int32_t, imm, <=)
            case GTK_I32: COMPARE_K(int32_t, imm, >)
            case GEK_I32: COMPARE_K(int32_t, imm, >=)
            case EQK_I32: COMPARE_K(int32_t, imm, ==)
            case NEK_I32: COMPARE_K(int32_t, imm, !=)
            case BETWEENK_I32: BETWEEN_K(int32_t, uint32_t)
            case NARROW_I16: MAP(int64_t, int16_t, p)
            case LTK_I16: COMPARE_K(int16_t, imm, <)
            case LEK_I16: COMPARE_K(int16_t, imm, <=)
            case GTK_I16: COMPARE_K(int16_t, imm, >)
            case GEK_I16: COMPARE_K(int16_t, imm, >=)
            case EQK_I16: COMPARE_K(int16_t, imm, ==)
            case NEK_I16: COMPARE_K(int16_t, imm, !=)
            case BETWEENK_I16: BETWEEN_K(int16_t, uint16_t)
            case PACK_FALSE_1: PACK_FALSE(uint8_t)
            case PACK_FALSE_2: PACK_FALSE(uint16_t)
            case PACK_FALSE_4: PACK_FALSE(uint32_t)
            case PACK_FALSE_8: PACK_FALSE(uint64_t)
            case BITS_TRI_1: BITS_TRI(uint8_t)
            case BITS_TRI_2: BITS_TRI(uint16_t)
            case BITS_TRI_4: BITS_TRI(uint32_t)
            case BITS_TRI_8: BITS_TRI(uint64_t)
            /* with the immediate: no register filled with a constant each block (the
             * integers' sum and product wrap, as ADD_I's and MUL_I's do) */
            case ADDK_I: MAP(int64_t, int64_t, (int64_t)((uint64_t)p + (uint64_t)imm))
            case MULK_I: MAP(int64_t, int64_t, (int64_t)((uint64_t)p * (uint64_t)imm))
            case ADDK_F: MAP(double, double, p + fimm)
            case MULK_F: MAP(double, double, p * fimm)
            /* an output's rows zeroed (one no PACK writes first: the others OR into it) */
            case ZERO:
                memset(out_ptr[in->dst] + row * out_width[in->dst], 0,
                       (size_t)(n * out_width[in->dst]));
                break;
            default:
                break; /* checked before running */
            }
        }
    }
}

/* The buffers of a sequence of objects, each contiguous (writable when asked), at least
 * `least` bytes long; NULL and an exception when one is not. */
static Py_buffer *
buffers(PyObject *seq, const char *what, int writable, Py_ssize_t *count)
{
    PyObject *items = PySequence_Fast(seq, what);
    if (items == NULL)
        return NULL;
    Py_ssize_t size = PySequence_Fast_GET_SIZE(items);
    Py_buffer *views = PyMem_Calloc(size ? (size_t)size : 1, sizeof(Py_buffer));
    if (views == NULL) {
        Py_DECREF(items);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t k = 0; k < size; k++) {
        int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(items, k), &views[k], flags) < 0) {
            for (Py_ssize_t j = 0; j < k; j++)
                PyBuffer_Release(&views[j]);
            PyMem_Free(views);
            Py_DECREF(items);
            return NULL;
        }
    }
    Py_DECREF(items);
    *count = size;
    return views;
}

static void
release(Py_buffer *views, Py_ssize_t count)
{
    for (Py_ssize_t k = 0; k < count; k++)
        PyBuffer_Release(&views[k]);
    PyMem_Free(views);
}

static void
release_columns(Column *cols, Py_ssize_t count)
{
    for (Py_ssize_t k = 0; k < count; k++) {
        PyBuffer_Release(&cols[k].values);
        if (cols[k].validity.obj != NULL)
            PyBuffer_Release(&cols[k].validity);
        if (cols[k].data != NULL)
            release(cols[k].data, cols[k].ndata);
    }
    PyMem_Free(cols);
}

/* The columns: each a contiguous buffer, or an Arrow column's tuple: a string column's (views,
 * offset, validity or None, data buffers), a nullable number column's (values, offset,
 * validity or None). NULL and an exception when one is neither. */
static Column *
columns_of(PyObject *seq, Py_ssize_t *count)
{
    PyObject *items = PySequence_Fast(seq, "columns must be a sequence");
    if (items == NULL)
        return NULL;
    Py_ssize_t size = PySequence_Fast_GET_SIZE(items);
    Column *cols = PyMem_Calloc(size ? (size_t)size : 1, sizeof(Column));
    if (cols == NULL) {
        Py_DECREF(items);
        PyErr_NoMemory();
        return NULL;
    }
    Py_ssize_t k = 0;
    for (; k < size; k++) {
        PyObject *item = PySequence_Fast_GET_ITEM(items, k);
        Column *c = &cols[k];
        if (!PyTuple_Check(item)) {
            if (PyObject_GetBuffer(item, &c->values, PyBUF_C_CONTIGUOUS) < 0)
                goto fail;
            continue;
        }
        /* an Arrow column: (values or views, offset, validity or None[, data buffers]) */
        PyObject *views, *validity, *data = NULL;
        if (!PyArg_ParseTuple(item, "OnO|O:an Arrow column", &views, &c->offset, &validity,
                              &data))
            goto fail;
        if (c->offset < 0) {
            PyErr_SetString(PyExc_ValueError, "frame kernel: a column's offset is negative");
            goto fail;
        }
        if (PyObject_GetBuffer(views, &c->values, PyBUF_C_CONTIGUOUS) < 0)
            goto fail;
        if (validity != Py_None && PyObject_GetBuffer(validity, &c->validity, PyBUF_C_CONTIGUOUS) < 0)
            goto fail;
        if (data == NULL) { /* a number column that may hold nulls */
            c->nullable = 1;
            continue;
        }
        c->strings = 1;
        c->data = buffers(data, "a string column's data must be a sequence", 0, &c->ndata);
        if (c->data == NULL)
            goto fail;
    }
    Py_DECREF(items);
    *count = size;
    return cols;
fail:
    Py_DECREF(items);
    release_columns(cols, k + 1); /* the failed one's buffers taken so far, too */
    return NULL;
}

/* Whether the closed list at `offset` of the vocabularies lies in them, its strings and
 * perfect hash table too, and each slot of the table names one of its strings or none. */
static int
vocabulary_fits(const uint8_t *vocab, Py_ssize_t size, int64_t offset)
{
    if (offset < 0 || offset % 8 || offset > size - 32)
        return 0;
    uint64_t values, slots, longs;
    memcpy(&values, vocab + offset, 8);
    memcpy(&slots, vocab + offset + 8, 8);
    memcpy(&longs, vocab + offset + 24, 8);
    const uint64_t room = (uint64_t)(size - offset - 32);
    if (values > 254 || longs > 2 || slots == 1 || slots > HASH_MAX_SLOTS || (slots & (slots - 1)) ||
        room < 32 * (values + 1) + 4 * slots)
        return 0;
    for (uint64_t j = 0; j <= values; j++) {
        uint64_t entry[4];
        memcpy(entry, vocab + offset + 32 + 32 * j, 32);
        if (entry[2] > 12 && (entry[3] > (uint64_t)(size - offset) ||
                              entry[2] > (uint64_t)(size - offset) - entry[3]))
            return 0;
    }
    for (uint64_t h = 0; h < slots; h++) {
        uint32_t code;
        memcpy(&code, vocab + offset + 32 + 32 * (values + 1) + 4 * h, 4);
        if (code > values)
            return 0;
    }
    return 1;
}

static int
bad(Py_ssize_t pc)
{
    PyErr_Format(PyExc_ValueError, "frame kernel: instruction %zd is out of range", pc);
    return 0;
}

/* Whether every instruction's operands are in range and every buffer it reads or writes
 * holds the rows [0, stop): a wrong program is an error, never a stray write. */
static int
check(const Instr *program, Py_ssize_t count, Py_ssize_t registers, const Column *cols,
      Py_ssize_t ncols, const Py_buffer *outs, Py_ssize_t nouts, Py_ssize_t ntables,
      const int32_t *operands, Py_ssize_t noperands, const uint8_t *vocab, Py_ssize_t nvocab,
      Py_ssize_t stop)
{
    for (Py_ssize_t k = 0; k < nouts; k++) { /* each zeroed over the rows, at its width */
        const Py_ssize_t width = outs[k].itemsize;
        if ((width != 1 && width != 2 && width != 4 && width != 8) || outs[k].len < stop * width) {
            PyErr_Format(PyExc_ValueError, "frame kernel: output %zd is out of range", k);
            return 0;
        }
    }
    for (Py_ssize_t pc = 0; pc < count; pc++) {
        const Instr *in = &program[pc];
        int op = in->op;
        if (op <= 0 || op >= OP_END)
            return bad(pc);
        if (op >= PACK_FALSE_1 && op <= BITS_TRI_8) { /* the stores */
            Py_ssize_t width = (Py_ssize_t)1 << ((op - PACK_FALSE_1) % 4);
            if (in->dst < 0 || in->dst >= nouts || outs[in->dst].len < stop * width)
                return bad(pc);
            if (op >= BITS_TRI_1) {
                if (in->a < 0 || in->a >= registers || in->i < 0 || in->i >= 8 * width)
                    return bad(pc);
                if (in->b < 0 || in->b >= nouts || outs[in->b].len < stop * width)
                    return bad(pc);
                continue;
            }
            if (in->b < 1 || in->b > PACK || in->i < 0 || in->i > noperands - 2 * in->b ||
                (in->a != 1 && in->a != -1))
                return bad(pc);
            for (Py_ssize_t j = in->i; j < in->i + 2 * in->b; j += 2)
                if (operands[j] < 0 || operands[j] >= registers || operands[j + 1] < 0 ||
                    operands[j + 1] >= 8 * width)
                    return bad(pc);
            continue;
        }
        if (op == ZERO) {
            if (in->dst < 0 || in->dst >= nouts)
                return bad(pc);
            continue;
        }
        if (in->dst < 0 || in->dst >= registers)
            return bad(pc);
        if (op == LOAD_U8 && in->a >= 0 && in->a < ncols && cols[in->a].nullable) {
            const Column *c = &cols[in->a]; /* a bitmap, its bits from the offset */
            if (c->values.len < (c->offset + stop + 7) / 8)
                return bad(pc);
            continue;
        }
        if (op <= LOAD_U8) {
            Py_ssize_t width = op == LOAD_U8 ? 1 : 8;
            if (in->a < 0 || in->a >= ncols || cols[in->a].strings || cols[in->a].nullable ||
                cols[in->a].values.len < stop * width)
                return bad(pc);
            continue;
        }
        if (op == CODE_STR || op == VALID || op == FILL_64) {
            if (in->a < 0 || in->a >= ncols)
                return bad(pc);
            const Column *c = &cols[in->a];
            if (op == CODE_STR ? !c->strings : op == FILL_64 ? !c->nullable
                                                              : !(c->strings || c->nullable))
                return bad(pc);
            Py_ssize_t rows = c->offset + stop, width = c->strings ? 16 : 8;
            if (c->values.len / width < rows || (uintptr_t)c->values.buf % 8)
                return bad(pc);
            if (c->validity.obj != NULL && c->validity.len < (rows + 7) / 8)
                return bad(pc);
            if (op == CODE_STR && !vocabulary_fits(vocab, nvocab, in->i))
                return bad(pc);
            continue;
        }
        if (op == CONST_I || op == CONST_F || op == CONST_U8)
            continue;
        if (in->a < 0 || in->a >= registers)
            return bad(pc);
        if (op == TABLE && (in->i < 0 || in->i >= ntables))
            return bad(pc);
        if (op == MODK_I && (in->i == 0 || in->i == -1))
            return bad(pc);
        int select = (op >= SELECT_U8 && op <= SELECT_F) || op == TSELECT;
        if (select && (in->i < 0 || in->i >= registers))
            return bad(pc);
        int binary = (op >= ADD_I && op <= MAX_I) || (op >= ADD_F && op <= MAX_F) ||
                     (op >= LT_I && op <= NE_F) || op == AND || op == OR || select ||
                     op == TMASK || op == TAND || op == TOR || op == TSAND;
        if (binary && (in->b < 0 || in->b >= registers))
            return bad(pc);
    }
    return 1;
}

static PyObject *
run(PyObject *self, PyObject *args)
{
    Py_buffer program;
    Py_ssize_t registers, start, stop;
    PyObject *columns, *outputs;
    Py_buffer tables, operands, vocabularies;
    if (!PyArg_ParseTuple(args, "y*nOOy*y*y*nn:run", &program, &registers, &columns, &outputs,
                          &tables, &operands, &vocabularies, &start, &stop))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t ncols = 0, nouts = 0;
    Column *cols = NULL;
    Py_buffer *outs = NULL;
    char **buf = NULL, **reg = NULL, **col_ptr = NULL, **out_ptr = NULL;
    Py_ssize_t *out_width = NULL;
    char *memory = NULL;
    int32_t *pairs = NULL;
    uint8_t *vocab = NULL;
    Strings *strs = NULL;
    const uint8_t **data = NULL;
    Py_ssize_t *data_len = NULL;
    if (program.len % (Py_ssize_t)sizeof(Instr) || tables.len % 256 ||
        operands.len % (Py_ssize_t)sizeof(int32_t) || registers < 0 || start < 0 || stop < start) {
        PyErr_SetString(PyExc_ValueError, "frame kernel: malformed arguments");
        goto done;
    }
    cols = columns_of(columns, &ncols);
    if (cols == NULL)
        goto done;
    outs = buffers(outputs, "outputs must be a sequence", 1, &nouts);
    if (outs == NULL)
        goto done;
    const Instr *code = (const Instr *)program.buf;
    Py_ssize_t count = program.len / (Py_ssize_t)sizeof(Instr);
    /* copied: a buffer's bytes need not be aligned for int32 reads */
    Py_ssize_t npairs = operands.len / (Py_ssize_t)sizeof(int32_t);
    pairs = PyMem_Malloc(npairs ? (size_t)operands.len : 1);
    if (pairs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(pairs, operands.buf, (size_t)operands.len);
    vocab = PyMem_Malloc(vocabularies.len ? (size_t)vocabularies.len : 1);
    if (vocab == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(vocab, vocabularies.buf, (size_t)vocabularies.len);
    if (!check(code, count, registers, cols, ncols, outs, nouts, tables.len / 256, pairs, npairs,
               vocab, vocabularies.len, stop))
        goto done;
    /* the string columns' parts, their data buffers in one array */
    Py_ssize_t ndata = 0;
    for (Py_ssize_t k = 0; k < ncols; k++)
        ndata += cols[k].ndata;
    strs = PyMem_Calloc(ncols ? (size_t)ncols : 1, sizeof(Strings));
    data = PyMem_Calloc(ndata ? (size_t)ndata : 1, sizeof(uint8_t *));
    data_len = PyMem_Calloc(ndata ? (size_t)ndata : 1, sizeof(Py_ssize_t));
    if (!strs || !data || !data_len) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0, d = 0; k < ncols; k++) {
        if (!cols[k].strings && !cols[k].nullable)
            continue;
        strs[k].views = cols[k].values.buf;
        strs[k].validity = cols[k].validity.obj != NULL ? cols[k].validity.buf : NULL;
        strs[k].offset = cols[k].offset;
        strs[k].ndata = cols[k].ndata;
        strs[k].data = data + d;
        strs[k].data_len = data_len + d;
        for (Py_ssize_t j = 0; j < cols[k].ndata; j++, d++) {
            data[d] = cols[k].data[j].buf;
            data_len[d] = cols[k].data[j].len;
        }
    }
    size_t slots = registers ? (size_t)registers : 1;
    buf = PyMem_Calloc(slots, sizeof(char *));
    reg = PyMem_Calloc(slots, sizeof(char *));
    col_ptr = PyMem_Calloc(ncols ? (size_t)ncols : 1, sizeof(char *));
    out_ptr = PyMem_Calloc(nouts ? (size_t)nouts : 1, sizeof(char *));
    out_width = PyMem_Calloc(nouts ? (size_t)nouts : 1, sizeof(Py_ssize_t));
    /* every register a block of 8-byte values, 64-byte aligned; then two blocks for the
     * views a CODE_STR reads */
    memory = aligned_alloc(64, (slots + 2) * BLOCK * 8);
    if (!buf || !reg || !col_ptr || !out_ptr || !out_width || !memory) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t k = 0; k < slots; k++)
        buf[k] = reg[k] = memory + k * BLOCK * 8;
    for (Py_ssize_t k = 0; k < ncols; k++)
        col_ptr[k] = cols[k].values.buf;
    for (Py_ssize_t k = 0; k < nouts; k++) {
        out_ptr[k] = outs[k].buf;
        out_width[k] = outs[k].itemsize;
    }
    Py_BEGIN_ALLOW_THREADS
    uint64_t *lo = (uint64_t *)(memory + slots * BLOCK * 8), *hi = lo + BLOCK;
    execute(code, count, buf, reg, col_ptr, strs, out_ptr, out_width, nouts,
            (const uint8_t *)tables.buf, pairs, vocab, lo, hi, start, stop);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(memory);
    PyMem_Free(pairs);
    PyMem_Free(vocab);
    PyMem_Free(strs);
    PyMem_Free(data);
    PyMem_Free(data_len);
    PyMem_Free(buf);
    PyMem_Free(reg);
    PyMem_Free(col_ptr);
    PyMem_Free(out_ptr);
    PyMem_Free(out_width);
    if (cols)
        release_columns(cols, ncols);
    if (outs)
        release(outs, nouts);
    PyBuffer_Release(&program);
    PyBuffer_Release(&tables);
    PyBuffer_Release(&operands);
    PyBuffer_Release(&vocabularies);
    return result;
}

static PyObject *
opcodes(PyObject *self, PyObject *unused)
{
    static const char *names[] = {
        "LOAD_I64", "LOAD_F64", "LOAD_U8", "I2F",
        "ADD_I", "SUB_I", "MUL_I", "MIN_I", "MAX_I", "NEG_I", "MODK_I",
        "ADD_F", "SUB_F", "MUL_F", "DIV_F", "MIN_F", "MAX_F", "NEG_F", "FMODK_F", "DIVK_F",
        "CONST_I", "CONST_F", "CONST_U8",
        "LT_I", "LE_I", "GT_I", "GE_I", "EQ_I", "NE_I",
        "LT_F", "LE_F", "GT_F", "GE_F", "EQ_F", "NE_F",
        "LTK_I", "LEK_I", "GTK_I", "GEK_I", "EQK_I", "NEK_I",
        "LTK_F", "LEK_F", "GTK_F", "GEK_F", "EQK_F", "NEK_F",
        "AND", "OR", "TABLE", "TABLE32", "SELECT_U8", "SELECT_I", "SELECT_F",
        "TMASK", "TAND", "TOR", "TNOT", "TSELECT", "TSAND",
        "BETWEENK_I", "NEK_U8", "CODE_STR", "VALID", "FILL_64",
        "NARROW_I32", "LTK_I32", "LEK_I32", "GTK_I32", "GEK_I32", "EQK_I32", "NEK_I32",
        "BETWEENK_I32",
        "NARROW_I16", "LTK_I16", "LEK_I16", "GTK_I16", "GEK_I16", "EQK_I16", "NEK_I16",
        "BETWEENK_I16",
        "PACK_FALSE_1", "PACK_FALSE_2", "PACK_FALSE_4", "PACK_FALSE_8",
        "BITS_TRI_1", "BITS_TRI_2", "BITS_TRI_4", "BITS_TRI_8",
        "ADDK_I", "MULK_I", "ADDK_F", "MULK_F", "ZERO",
    };
    PyObject *out = PyDict_New();
    if (out == NULL)
        return NULL;
    for (int k = 0; k < OP_END - 1; k++) {
        PyObject *value = PyLong_FromLong(k + 1);
        if (value == NULL || PyDict_SetItemString(out, names[k], value) < 0) {
            Py_XDECREF(value);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(value);
    }
    return out;
}

/* Memory for the outputs, mapped from the system and kept: when an Arena is freed (the
 * last bitmask column holding it gone), its memory is kept for the next Arena of about its
 * size (the last freed only) instead of unmapped. A new mapping costs a page fault and the
 * system's zeroing per page on first write, and its unmapping a flush of the other
 * threads' address translations (a tenth of the frame path's CPU, measured); kept, the
 * pages are mapped already, and the program writes every row of each output (`execute`). */
typedef struct {
    PyObject_HEAD
    char *memory;
    Py_ssize_t size;
} Arena;

static char *spare = NULL; /* an Arena's memory kept for the next (the GIL guards it) */
static Py_ssize_t spare_size = 0;

static PyObject *
arena_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"size", NULL};
    Py_ssize_t size;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "n:Arena", keywords, &size))
        return NULL;
    if (size < 0) {
        PyErr_SetString(PyExc_ValueError, "frame kernel: an Arena's size is negative");
        return NULL;
    }
    size = size ? size : 1;
    Arena *self = (Arena *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    if (spare != NULL && spare_size >= size && spare_size - size <= size / 4) {
        self->memory = spare, self->size = spare_size;
        spare = NULL;
        return (PyObject *)self;
    }
    void *memory = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    if (memory == MAP_FAILED) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
#ifdef MADV_HUGEPAGE
    (void)madvise(memory, (size_t)size, MADV_HUGEPAGE); /* fewer faults and misses; a hint */
#endif
    self->memory = memory, self->size = size;
    return (PyObject *)self;
}

static void
arena_dealloc(Arena *self)
{
    if (self->memory != NULL) { /* kept, in place of any kept before (the likelier fit) */
        if (spare != NULL)
            munmap(spare, (size_t)spare_size);
        spare = self->memory, spare_size = self->size;
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
arena_getbuffer(Arena *self, Py_buffer *view, int flags)
{
    return PyBuffer_FillInfo(view, (PyObject *)self, self->memory, self->size, 0, flags);
}

static PyBufferProcs arena_as_buffer = {(getbufferproc)arena_getbuffer, NULL};

static PyTypeObject ArenaType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "matcher._frame_kernel.Arena",
    .tp_doc = "Arena(size): writable memory for the outputs, of at least size bytes, kept for "
              "the next Arena when freed (its bytes are not zeroed).",
    .tp_basicsize = sizeof(Arena),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = arena_new,
    .tp_dealloc = (destructor)arena_dealloc,
    .tp_as_buffer = &arena_as_buffer,
};

/* avx512(on): whether CODE_STR's perfect hash lookups use AVX-512 from now on (only where
 * the processor has it): the tests compare the two ways, which must give the same codes */
static PyObject *
set_avx512(PyObject *self, PyObject *on)
{
    int wanted = PyObject_IsTrue(on);
    if (wanted < 0)
        return NULL;
#if defined(__x86_64__) && defined(__GNUC__)
    avx512 = wanted && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    return PyBool_FromLong(avx512);
#else
    Py_RETURN_FALSE;
#endif
}

static PyMethodDef methods[] = {
    {"run", run, METH_VARARGS, "Run a program over the rows [start, stop)."},
    {"avx512", set_avx512, METH_O,
     "avx512(on): whether CODE_STR uses AVX-512 from now on (where the processor has it)."},
    {"opcodes", opcodes, METH_NOARGS, "The instructions' numbers, by name."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_frame_kernel", "The frame path's fused kernel.", -1, methods,
};

PyMODINIT_FUNC
PyInit__frame_kernel(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
#endif
    if (PyType_Ready(&ArenaType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&ArenaType);
    if (PyModule_AddObject(m, "Arena", (PyObject *)&ArenaType) < 0) {
        Py_DECREF(&ArenaType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "BLOCK", BLOCK) < 0 ||
        PyModule_AddIntConstant(m, "PACK", PACK) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
