/** The store's five departments, in the original generator's id order (department_id 1..5). */
export const DEPARTMENTS = ['Men', 'Sport', 'Boys', 'Girls', 'Women'] as const;
export type Department = (typeof DEPARTMENTS)[number];

const ALIASES: Record<string, Department> = {
  men: 'Men',
  "men's": 'Men',
  mens: 'Men',
  sport: 'Sport',
  sports: 'Sport',
  boys: 'Boys',
  boy: 'Boys',
  "boy's": 'Boys',
  girls: 'Girls',
  girl: 'Girls',
  "girl's": 'Girls',
  women: 'Women',
  "women's": 'Women',
  womens: 'Women',
};

/** Canonical department name for any spelling the seeds and the original UI use, or undefined. */
export function canonicalDepartment(name: string): Department | undefined {
  return ALIASES[name.trim().toLowerCase()];
}

/** Department for the envelope format's department_id (1..5). */
export function departmentById(id: number): Department | undefined {
  return Number.isInteger(id) ? DEPARTMENTS[id - 1] : undefined;
}
