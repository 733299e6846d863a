/** Role name → factory. Each role module registers itself here. */
import type { Role } from '../../schemas/env.ts';
import type { RoleFactory } from './role.ts';
import { createGateway } from '../gateway/index.ts';
import { withDashboard } from '../dashboard/index.ts';
import { detectorRole } from '../detector/index.ts';
import { pumpRole } from '../pump/index.ts';
import { recommenderRole } from '../recommender/index.ts';
import { simulatorRole } from '../simulator/index.ts';

export const ROLE_FACTORIES: Partial<Record<Role, RoleFactory>> = {};
// the gateway comes with the dashboard's routes on the control plane (the page streams through it)
ROLE_FACTORIES.gateway = withDashboard(createGateway());
ROLE_FACTORIES.detector = detectorRole;
ROLE_FACTORIES.pump = pumpRole;
ROLE_FACTORIES.recommender = recommenderRole;
ROLE_FACTORIES.simulator = simulatorRole;
