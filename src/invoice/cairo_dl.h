/* cairo_dl.h — cairo (and fontconfig through it), loaded on first use
 * (p2pgrid/base/dl.h): only `p2pgrid invoice` writes PDFs, so no daemon maps
 * cairo's dozen libraries. Include instead of <cairo.h>; call
 * pg_cairo_load before the first cairo_* call. */
#ifndef P2PGRID_INVOICE_CAIRO_DL_H
#define P2PGRID_INVOICE_CAIRO_DL_H

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include "p2pgrid/base/dl.h"

#define PG_CAIRO_FNS(X)                                                                            \
  X(cairo_create)                                                                                  \
  X(cairo_debug_reset_static_data)                                                                 \
  X(cairo_destroy)                                                                                 \
  X(cairo_fill)                                                                                    \
  X(cairo_line_to)                                                                                 \
  X(cairo_move_to)                                                                                 \
  X(cairo_pdf_surface_create)                                                                      \
  X(cairo_pdf_surface_set_metadata)                                                                \
  X(cairo_rectangle)                                                                               \
  X(cairo_select_font_face)                                                                        \
  X(cairo_set_font_size)                                                                           \
  X(cairo_set_line_width)                                                                          \
  X(cairo_set_source_rgb)                                                                          \
  X(cairo_show_page)                                                                               \
  X(cairo_show_text)                                                                               \
  X(cairo_status)                                                                                  \
  X(cairo_status_to_string)                                                                        \
  X(cairo_stroke)                                                                                  \
  X(cairo_surface_destroy)                                                                         \
  X(cairo_surface_finish)                                                                          \
  X(cairo_surface_status)                                                                          \
  X(cairo_text_extents)                                                                            \
  X(FcFini)

typedef struct pg_cairo_fns {
  PG_CAIRO_FNS(PG_DL_FIELD)
} pg_cairo_fns;
extern pg_cairo_fns pg_cairo;

/* Loads libcairo.so.2 once; PG_ERR_UNSUPPORTED naming libcairo2 when absent. */
PG_NODISCARD int pg_cairo_load(pg_diag *d);
/* True once pg_cairo_load succeeded. */
int pg_cairo_loaded(void);

#ifndef PG_CAIRO_LOADER
#define cairo_create (pg_cairo.cairo_create)
#define cairo_debug_reset_static_data (pg_cairo.cairo_debug_reset_static_data)
#define cairo_destroy (pg_cairo.cairo_destroy)
#define cairo_fill (pg_cairo.cairo_fill)
#define cairo_line_to (pg_cairo.cairo_line_to)
#define cairo_move_to (pg_cairo.cairo_move_to)
#define cairo_pdf_surface_create (pg_cairo.cairo_pdf_surface_create)
#define cairo_pdf_surface_set_metadata (pg_cairo.cairo_pdf_surface_set_metadata)
#define cairo_rectangle (pg_cairo.cairo_rectangle)
#define cairo_select_font_face (pg_cairo.cairo_select_font_face)
#define cairo_set_font_size (pg_cairo.cairo_set_font_size)
#define cairo_set_line_width (pg_cairo.cairo_set_line_width)
#define cairo_set_source_rgb (pg_cairo.cairo_set_source_rgb)
#define cairo_show_page (pg_cairo.cairo_show_page)
#define cairo_show_text (pg_cairo.cairo_show_text)
#define cairo_status (pg_cairo.cairo_status)
#define cairo_status_to_string (pg_cairo.cairo_status_to_string)
#define cairo_stroke (pg_cairo.cairo_stroke)
#define cairo_surface_destroy (pg_cairo.cairo_surface_destroy)
#define cairo_surface_finish (pg_cairo.cairo_surface_finish)
#define cairo_surface_status (pg_cairo.cairo_surface_status)
#define cairo_text_extents (pg_cairo.cairo_text_extents)
#define FcFini (pg_cairo.FcFini)
#endif

#endif
