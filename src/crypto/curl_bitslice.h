/* Internal to src/crypto: the bit-sliced Curl-P rounds, one template for
 * the 64-lane state of curl.c (uint64_t rows) and the 512-lane one of
 * curl_wide.c (GCC vector rows). Not a public contract.
 *
 * Lane encoding of curl.h: (lo, hi) = (1,0) -1, (0,1) +1, (1,1) 0. With the
 * layout-flipped form of curl.c, one round gives Y[2u] = S(c[u], c[u+364]),
 * Y[2u+1] = S(c[u+365], c[u]) and the next s[2m] = S(Y[m], Y[m+365]),
 * s[2m+1] = S(Y[m+365], Y[m+1]), s[728] = S(Y[364], Y[0]). Taking m = 2v and
 * 2v+1 together, the four Y values one step needs are S-boxes of c[v],
 * c[v+1], c[v+182], c[v+183], c[v+365] and c[v+547]: four new rows read per
 * step, the Y values stay in registers, four rows written. A pass (_two)
 * reads and writes the state once for two rounds; _one is a single round
 * in natural layout (for odd round counts). */
#ifndef P2PGRID_CURL_BITSLICE_H
#define P2PGRID_CURL_BITSLICE_H

/* d = (al | ~bh) & (bl ^ ah); out = (~d, (al ^ bh) | d): the s-box. */
#define SBX(al, ah, bl, bh, ol, oh)                     \
  do {                                                  \
    __typeof__(al) d_ = ((al) | ~(bh)) & ((bl) ^ (ah)); \
    (ol) = ~d_;                                         \
    (oh) = ((al) ^ (bh)) | d_;                          \
  } while (0)

/* NAME##_one / NAME##_two on rows of element type T, row r at element r * P
 * (P: a constant), compiled with TARGET (a target attribute or nothing). */
#define CURL_BS_ROUNDS(NAME, T, P, TARGET)                                                       \
  TARGET static void NAME##_one(const T *restrict cl, const T *restrict ch,        \
                                T *restrict sl, T *restrict sh) {                  \
    SBX(cl[0], ch[0], cl[364 * P], ch[364 * P], sl[0], sh[0]);                                   \
    SBX(cl[364 * P], ch[364 * P], cl[728 * P], ch[728 * P], sl[P], sh[P]);                       \
    for (int m = 1; m < 364; m++) {                                                              \
      T al = cl[(729 - m) * P], ah = ch[(729 - m) * P];                                   \
      T bl = cl[(364 - m) * P], bh = ch[(364 - m) * P];                                   \
      T dl = cl[(728 - m) * P], dh = ch[(728 - m) * P];                                   \
      SBX(al, ah, bl, bh, sl[2 * m * P], sh[2 * m * P]);                                         \
      SBX(bl, bh, dl, dh, sl[(2 * m + 1) * P], sh[(2 * m + 1) * P]);                             \
    }                                                                                            \
    SBX(cl[365 * P], ch[365 * P], cl[0], ch[0], sl[728 * P], sh[728 * P]);                       \
  }                                                                                              \
  TARGET static void NAME##_two(const T *restrict cl, const T *restrict ch,        \
                                T *restrict sl, T *restrict sh) {                  \
    T Al, Ah, c0l = cl[0], c0h = ch[0], c1l = cl[182 * P], c1h = ch[182 * P];             \
    SBX(c0l, c0h, cl[364 * P], ch[364 * P], Al, Ah); /* Y[0] */                                  \
    const T Y0l = Al, Y0h = Ah;                                                           \
    for (int v = 0; v < 182; v++) {                                                              \
      T xl = cl[(v + 365) * P], xh = ch[(v + 365) * P];                                   \
      T yl = cl[(v + 547) * P], yh = ch[(v + 547) * P];                                   \
      T nl = cl[(v + 1) * P], nh = ch[(v + 1) * P];                                       \
      T ml = cl[(v + 183) * P], mh = ch[(v + 183) * P];                                   \
      T Cl, Ch, Bl, Bh, Dl, Dh, El, Eh;                                                   \
      SBX(xl, xh, c0l, c0h, Cl, Ch); /* Y[2v+1]   = S(c[v+365], c[v]) */                         \
      SBX(yl, yh, c1l, c1h, Bl, Bh); /* Y[2v+365] = S(c[v+547], c[v+182]) */                     \
      SBX(nl, nh, xl, xh, Dl, Dh);   /* Y[2v+2]   = S(c[v+1], c[v+365]) */                       \
      SBX(ml, mh, yl, yh, El, Eh);   /* Y[2v+366] = S(c[v+183], c[v+547]) */                     \
      SBX(Al, Ah, Bl, Bh, sl[4 * v * P], sh[4 * v * P]);                                         \
      SBX(Bl, Bh, Cl, Ch, sl[(4 * v + 1) * P], sh[(4 * v + 1) * P]);                             \
      SBX(Cl, Ch, El, Eh, sl[(4 * v + 2) * P], sh[(4 * v + 2) * P]);                             \
      SBX(El, Eh, Dl, Dh, sl[(4 * v + 3) * P], sh[(4 * v + 3) * P]);                             \
      Al = Dl, Ah = Dh, c0l = nl, c0h = nh, c1l = ml, c1h = mh;                                  \
    }                                                                                            \
    SBX(Al, Ah, Y0l, Y0h, sl[728 * P], sh[728 * P]); /* S(Y[364], Y[0]) */                       \
  }

#endif
