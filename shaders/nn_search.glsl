// Shared by the nearest-neighbour search kernels (nn_search_cpu.comp, nn_search_gpu.comp).
// A task is a block of consecutive positions p of a[n]; its candidates are the positions of
// b[n] in a box: the whole frame (radius 0) or the union of the windows of the block's
// positions. Candidates are enumerated row by row (f = 0 .. box_w * box_h - 1), so with
// radius 0 candidate f is position f.

GV_PUSH (GvNnSearchParams)

struct Box {
  uint y0, x0, bw, count;
};

Box
search_box (uint p_first, uint p_last)
{
  Box b;
  if (p.radius == 0) {
    b.y0 = 0;
    b.x0 = 0;
    b.bw = p.w;
    b.count = p.s;
    return b;
  }
  uint ya = p_first / p.w, yb = p_last / p.w;
  uint r = p.radius;
  b.y0 = ya > r ? ya - r : 0;
  uint y1 = min (yb + r, p.h - 1);
  uint x1;
  if (ya == yb) {
    uint xa = p_first % p.w, xb = p_last % p.w;
    b.x0 = xa > r ? xa - r : 0;
    x1 = min (xb + r, p.w - 1);
  } else {
    b.x0 = 0;
    x1 = p.w - 1;
  }
  b.bw = x1 - b.x0 + 1;
  b.count = b.bw * (y1 - b.y0 + 1);
  return b;
}

uint
box_position (Box b, uint f)
{
  return (b.y0 + f / b.bw) * p.w + b.x0 + f % b.bw;
}

// |qy - py| <= radius and |qx - px| <= radius (always TRUE with radius 0)
bool
in_window (uint q, uint pp)
{
  if (p.radius == 0)
    return true;
  int dy = int (q / p.w) - int (pp / p.w);
  int dx = int (q % p.w) - int (pp % p.w);
  return abs (dy) <= int (p.radius) && abs (dx) <= int (p.radius);
}

// (v, i) beats (bv, bi): a higher cosine, or the same one at a smaller index
bool
better (float v, uint i, float bv, uint bi)
{
  return v > bv || (v == bv && i < bi);
}

#define NO_SCORE (-3.0e38)
