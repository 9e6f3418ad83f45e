/* Internal to src/crypto: the bit-sliced Curl-P rounds, one template for
 * the 64-lane state of curl.c (uint64_t rows) and the 512-lane one of
 * curl_wide.c (GCC vector rows). Not a public contract.
 *
 * Lane encoding of crypto/curlp.h: (lo, hi) = (1,0) -1, (0,1) +1, (1,1) 0. With the
 * layout-flipped form of curl.c, one round gives Y[2u] = S(c[u], c[u+364]),
 * Y[2u+1] = S(c[u+365], c[u]) and the next s[2m] = S(Y[m], Y[m+365]),
 * s[2m+1] = S(Y[m+365], Y[m+1]), s[728] = S(Y[364], Y[0]). Taking m = 2v and
 * 2v+1 together, the four Y values one step needs are S-boxes of c[v],
 * c[v+1], c[v+182], c[v+183], c[v+365] and c[v+547]: four new rows read per
 * step, the Y values stay in registers, four rows written. A pass (_two)
 * reads and writes the state once for two rounds; _one is a single round
 * in natural layout. _three reads and writes it once for three rounds: the
 * third (_one's) round needs s[j], s[j+364] and s[j+365] for j ascending,
 * so two _two pipelines run in step over the halves (v and v + 91, s[4v..]
 * and s[364 + 4v..]) into two 32-row rings that stay in L1. */
#ifndef P2PGRID_CURL_BITSLICE_H
#define P2PGRID_CURL_BITSLICE_H

/* d = (al | ~bh) & (bl ^ ah); out = (~d, (al ^ bh) | d): the s-box. */
#define SBX(al, ah, bl, bh, ol, oh)                     \
  do {                                                  \
    __typeof__(al) d_ = ((al) | ~(bh)) & ((bl) ^ (ah)); \
    (ol) = ~d_;                                         \
    (oh) = ((al) ^ (bh)) | d_;                          \
  } while (0)

/* One step v of a two-round pass: from Y[2v] (A) and c[v], c[v+182]
 * (c0, c1) and four rows read, the next rounds' rows 4v..4v+3 to ol/oh[0],
 * [OS], [2 OS], [3 OS]; A, c0, c1 move on to step v + 1. */
#define BS_STEP(T, P, cl, ch, v, Al, Ah, c0l, c0h, c1l, c1h, ol, oh, OS)                         \
  BS_STEPV(T, cl[((v) + 365) * P], ch[((v) + 365) * P], cl[((v) + 547) * P],                    \
           ch[((v) + 547) * P], cl[((v) + 1) * P], ch[((v) + 1) * P], cl[((v) + 183) * P],       \
           ch[((v) + 183) * P], Al, Ah, c0l, c0h, c1l, c1h, ol, oh, OS)

/* The same step with its four new rows given: c[v+365], c[v+547], c[v+1], c[v+183]. */
#define BS_STEPV(T, xl0, xh0, yl0, yh0, nl0, nh0, ml0, mh0, Al, Ah, c0l, c0h, c1l, c1h, ol, oh, OS) \
  do {                                                                                           \
    T xl = (xl0), xh = (xh0), yl = (yl0), yh = (yh0);                                            \
    T nl = (nl0), nh = (nh0), ml = (ml0), mh = (mh0);                                            \
    T Cl, Ch, Bl_, Bh_, Dl, Dh, El, Eh;                                                          \
    SBX(xl, xh, c0l, c0h, Cl, Ch);   /* Y[2v+1]   = S(c[v+365], c[v]) */                         \
    SBX(yl, yh, c1l, c1h, Bl_, Bh_); /* Y[2v+365] = S(c[v+547], c[v+182]) */                     \
    SBX(nl, nh, xl, xh, Dl, Dh);     /* Y[2v+2]   = S(c[v+1], c[v+365]) */                       \
    SBX(ml, mh, yl, yh, El, Eh);     /* Y[2v+366] = S(c[v+183], c[v+547]) */                     \
    SBX(Al, Ah, Bl_, Bh_, (ol)[0], (oh)[0]);                                                     \
    SBX(Bl_, Bh_, Cl, Ch, (ol)[OS], (oh)[OS]);                                                   \
    SBX(Cl, Ch, El, Eh, (ol)[2 * (OS)], (oh)[2 * (OS)]);                                         \
    SBX(El, Eh, Dl, Dh, (ol)[3 * (OS)], (oh)[3 * (OS)]);                                         \
    Al = Dl, Ah = Dh, c0l = nl, c0h = nh, c1l = ml, c1h = mh;                                    \
  } while (0)

/* The third round of a three-round pass (_one's round on the two-round
 * pass's output s), for j = 364 - m: rows 2m, 2m + 1 from s[j] (ring a),
 * s[j + 364] and s[j + 365] (ring b). */
#define BS_RING 32
#define BS_THIRD(T, P, j)                                                                        \
  do {                                                                                           \
    const int m_ = 364 - (j), ja_ = (j) % BS_RING, jb_ = ((j) + 1) % BS_RING;                    \
    SBX(bl[jb_], bh[jb_], al[ja_], ah[ja_], sl[2 * m_ * P], sh[2 * m_ * P]);                     \
    SBX(al[ja_], ah[ja_], bl[ja_], bh[ja_], sl[(2 * m_ + 1) * P], sh[(2 * m_ + 1) * P]);         \
  } while (0)

/* The four-round pass (_four): the first two rounds run four pipelines in
 * step, pipeline i from v = BS4_V0(i) to BS4_V0(i + 1) - 1, writing
 * s[4v..4v+3] into ring i (s[BS4_BASE(i) + k] at k % BS_RING, its first
 * four rows kept in head i); the next two rounds (step u reads s[u + 1],
 * s[u + 183], s[u + 365], s[u + 547]) follow four steps behind, and take
 * the rows that wrapped into a head, and s[728], in the last five steps. */
#define BS4_V0(i) ((i) == 0 ? 0 : (i) == 1 ? 45 : (i) == 2 ? 91 : (i) == 3 ? 136 : 182)
#define BS4_BASE(i) (4 * BS4_V0(i))
#define BS4_PIPE(j) ((j) < 180 ? 0 : (j) < 364 ? 1 : (j) < 544 ? 2 : 3)
#define BS4_S(x, j)                                                                              \
  ((j) == 728 ? s728##x                                                                          \
   : (j) - BS4_BASE(BS4_PIPE(j)) < 4 && BS4_PIPE(j) > 0                                          \
       ? h##x[BS4_PIPE(j)][(j) - BS4_BASE(BS4_PIPE(j))]                                          \
       : r##x[BS4_PIPE(j)][((j) - BS4_BASE(BS4_PIPE(j))) % BS_RING])

/* Round r of the four pipelines (0 and 2 have 45 steps, 1 and 3 have 46). */
#define BS4_ROUND(T, P, r)                                                                       \
  do {                                                                                           \
    const int o_ = (4 * (r)) % BS_RING;                                                          \
    if ((r) < 45) {                                                                              \
      BS4_PSTEP(T, P, 0, (r), o_);                                                               \
      BS4_PSTEP(T, P, 2, 91 + (r), o_);                                                          \
    }                                                                                            \
    BS4_PSTEP(T, P, 1, 45 + (r), o_);                                                            \
    BS4_PSTEP(T, P, 3, 136 + (r), o_);                                                           \
  } while (0)

/* One step of pipeline i at v; c[v] and c[v + 182] are read again rather
 * than carried (four pipelines' carries would not fit the registers). */
#define BS4_PSTEP(T, P, i, v, o)                                                                 \
  do {                                                                                           \
    T c0l_ = cl[(v) * P], c0h_ = ch[(v) * P], c1l_ = cl[((v) + 182) * P],                        \
      c1h_ = ch[((v) + 182) * P];                                                                \
    BS_STEP(T, P, cl, ch, (v), Al[i], Ah[i], c0l_, c0h_, c1l_, c1h_, rl[i] + (o), rh[i] + (o), 1); \
  } while (0)

/* NAME##_one / NAME##_two / NAME##_three on rows of element type T, row r at element r * P
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
    for (int v = 0; v < 182; v++)                                                                \
      BS_STEP(T, P, cl, ch, v, Al, Ah, c0l, c0h, c1l, c1h, sl + 4 * v * P, sh + 4 * v * P, P);   \
    SBX(Al, Ah, Y0l, Y0h, sl[728 * P], sh[728 * P]); /* S(Y[364], Y[0]) */                       \
  }                                                                                              \
  TARGET __attribute__((unused)) static void NAME##_three(const T *restrict cl, const T *restrict ch,      \
                                  T *restrict sl, T *restrict sh) {                \
    T al[BS_RING], ah[BS_RING], bl[BS_RING], bh[BS_RING]; /* s[j], s[364 + j] */                 \
    T Y0l, Y0h, Bl, Bh, s0l, s0h, s364l, s364h, s365l, s365h;                                    \
    T a0l = cl[0], a0h = ch[0], a1l = cl[182 * P], a1h = ch[182 * P];                            \
    T b0l = cl[91 * P], b0h = ch[91 * P], b1l = cl[273 * P], b1h = ch[273 * P];                  \
    SBX(a0l, a0h, cl[364 * P], ch[364 * P], Y0l, Y0h); /* Y[0] */                                \
    SBX(b0l, b0h, cl[455 * P], ch[455 * P], Bl, Bh);   /* Y[182] */                              \
    T Al = Y0l, Ah = Y0h;                                                                        \
    for (int v = 0; v < 91; v++) {                                                               \
      const int o = (4 * v) % BS_RING;                                                           \
      BS_STEP(T, P, cl, ch, v, Al, Ah, a0l, a0h, a1l, a1h, al + o, ah + o, 1);                   \
      BS_STEP(T, P, cl, ch, v + 91, Bl, Bh, b0l, b0h, b1l, b1h, bl + o, bh + o, 1);              \
      if (v == 0) {                                                                              \
        s0l = al[0], s0h = ah[0], s364l = bl[0], s364h = bh[0], s365l = bl[1], s365h = bh[1];    \
      }                                                                                          \
      for (int j = v ? 4 * v - 1 : 1; j <= 4 * v + 2; j++) BS_THIRD(T, P, j);                    \
    }                                                                                            \
    SBX(Bl, Bh, Y0l, Y0h, bl[364 % BS_RING], bh[364 % BS_RING]); /* s[728] */                    \
    BS_THIRD(T, P, 363);                                                                         \
    SBX(s0l, s0h, s364l, s364h, sl[0], sh[0]);                                                   \
    SBX(s364l, s364h, bl[364 % BS_RING], bh[364 % BS_RING], sl[P], sh[P]);                       \
    SBX(s365l, s365h, s0l, s0h, sl[728 * P], sh[728 * P]);                                       \
  }                                                                                              \
  TARGET __attribute__((unused)) static void NAME##_four(const T *restrict cl, const T *restrict ch, \
                                  T *restrict sl, T *restrict sh) {                \
    T rl[4][BS_RING], rh[4][BS_RING], hl[4][4], hh[4][4], s728l, s728h;                          \
    T Al[4], Ah[4];                                                                              \
    for (int i = 0; i < 4; i++) {                                                                \
      const int v0 = BS4_V0(i);                                                                  \
      SBX(cl[v0 * P], ch[v0 * P], cl[(v0 + 364) * P], ch[(v0 + 364) * P], Al[i], Ah[i]);          \
    }                                                                                            \
    const T Y0l = Al[0], Y0h = Ah[0];                                                            \
    BS4_ROUND(T, P, 0);                                                                          \
    for (int i = 1; i < 4; i++)                                                                  \
      for (int k = 0; k < 4; k++) hl[i][k] = rl[i][k], hh[i][k] = rh[i][k];                      \
    T Bl, Bh;                                                                                    \
    SBX(rl[0][0], rh[0][0], rl[2][0], rh[2][0], Bl, Bh); /* Y'[0] = S(s[0], s[364]) */           \
    const T Z0l = Bl, Z0h = Bh;                                                                  \
    int u = 0;                                                                                   \
    for (int r = 1;; r++) {                                                                      \
      for (const int ue = 4 * (r - 1) < 176 ? 4 * (r - 1) : 176; u <= ue; u++) {                 \
        const int k0 = u % BS_RING, k1 = (u + 1) % BS_RING, k2 = (u + 2) % BS_RING,               \
                  k3 = (u + 3) % BS_RING;                                                        \
        T d0l = rl[0][k0], d0h = rh[0][k0], d1l = rl[1][k2], d1h = rh[1][k2];                    \
        BS_STEPV(T, rl[2][k1], rh[2][k1], rl[3][k3], rh[3][k3], rl[0][k1], rh[0][k1], rl[1][k3], \
                 rh[1][k3], Bl, Bh, d0l, d0h, d1l, d1h, sl + 4 * u * P, sh + 4 * u * P, P);      \
      }                                                                                          \
      if (r == 46) break;                                                                        \
      BS4_ROUND(T, P, r);                                                                        \
    }                                                                                            \
    SBX(Al[3], Ah[3], Y0l, Y0h, s728l, s728h); /* s[728] = S(Y[364], Y[0]) */                    \
    for (; u < 182; u++) {                                                                       \
      T d0l = BS4_S(l, u), d0h = BS4_S(h, u), d1l = BS4_S(l, u + 182), d1h = BS4_S(h, u + 182);  \
      BS_STEPV(T, BS4_S(l, u + 365), BS4_S(h, u + 365), BS4_S(l, u + 547), BS4_S(h, u + 547),     \
               BS4_S(l, u + 1), BS4_S(h, u + 1), BS4_S(l, u + 183), BS4_S(h, u + 183), Bl, Bh,   \
               d0l, d0h, d1l, d1h, sl + 4 * u * P, sh + 4 * u * P, P);                           \
    }                                                                                            \
    SBX(Bl, Bh, Z0l, Z0h, sl[728 * P], sh[728 * P]); /* S(Y'[364], Y'[0]) */                     \
  }

#endif
