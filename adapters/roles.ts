/** Role name → factory. Each role module registers itself here. */
import type { Role } from '../schemas/env.ts';
import type { RoleFactory } from './role.ts';
import { gatewayRole } from './gateway.ts';
import { detectorRole } from './detector/index.ts';
import { pumpRole } from './pump.ts';
import { recommenderRole } from './recommender/index.ts';
import { simulatorRole } from './simulator.ts';

export const ROLE_FACTORIES: Partial<Record<Role, RoleFactory>> = {};
ROLE_FACTORIES.gateway = gatewayRole;
ROLE_FACTORIES.detector = detectorRole;
ROLE_FACTORIES.pump = pumpRole;
ROLE_FACTORIES.recommender = recommenderRole;
ROLE_FACTORIES.simulator = simulatorRole;
