/** Role name → factory. Each role module registers itself here. */
import type { Role } from '../schemas/env.ts';
import type { RoleFactory } from './role.ts';

export const ROLE_FACTORIES: Partial<Record<Role, RoleFactory>> = {};
