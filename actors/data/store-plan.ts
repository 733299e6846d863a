/** The store plan (REFERENCE.md §4): 1808 × 1315 units, origin top-left, y down. Pure geometry. */
import type { Department } from '../../schemas/departments.ts';

export interface Point {
  x: number;
  y: number;
}
export interface Rect {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export const STORE_PLAN = {
  width: 1808,
  height: 1315,
  entrance: { x: 937, y: 50 } as Point,
  exit: { x: 1071, y: 50 } as Point,
  /** Inclusive rectangles. */
  departments: {
    Women: { x1: 444, y1: 443, x2: 666, y2: 879 },
    Boys: { x1: 672, y1: 443, x2: 992, y2: 658 },
    Girls: { x1: 998, y1: 443, x2: 1317, y2: 658 },
    Men: { x1: 672, y1: 664, x2: 1317, y2: 879 },
    Sport: { x1: 614, y1: 984, x2: 1186, y2: 1292 },
  } as Record<Department, Rect>,
} as const;

const ENTRIES = Object.entries(STORE_PLAN.departments) as [Department, Rect][];

/** The department whose rectangle holds the point (borders included), or undefined in the aisles. */
export function departmentAt(p: Point): Department | undefined {
  for (const [name, r] of ENTRIES) if (p.x >= r.x1 && p.x <= r.x2 && p.y >= r.y1 && p.y <= r.y2) return name;
  return undefined;
}

export function insidePlan(p: Point): boolean {
  return p.x >= 0 && p.x <= STORE_PLAN.width && p.y >= 0 && p.y <= STORE_PLAN.height;
}

export function clampToPlan(p: Point): Point {
  return { x: Math.min(STORE_PLAN.width, Math.max(0, p.x)), y: Math.min(STORE_PLAN.height, Math.max(0, p.y)) };
}

export function centreOf(dep: Department): Point {
  const r = STORE_PLAN.departments[dep];
  return { x: Math.round((r.x1 + r.x2) / 2), y: Math.round((r.y1 + r.y2) / 2) };
}

export function distance(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}
