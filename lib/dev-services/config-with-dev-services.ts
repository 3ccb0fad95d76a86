import { loadConfigWithSources, type ConfigWithSources } from '../config';
import {
  DEV_SERVICE_VARIABLES,
  devServicesDataDir,
  findRunningDevServices,
  type RunningDevServices,
} from './running-dev-services';

export interface LoadedConfig extends ConfigWithSources {
  /** The running dev services looked at; undefined when the environment names every variable they answer for. */
  devServices?: RunningDevServices;
  /** The variables taken from them (those the environment leaves unset). */
  fromDevServices: Record<string, string>;
}

/**
 * The configuration of the CLI and the worker: the environment, and for what it leaves unset the dev
 * services `trainyard dev up` runs (when they are running), so no `eval "$(trainyard dev env)"` is needed.
 */
export async function loadConfigFindingDevServices(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Promise<LoadedConfig> {
  const unset = Object.values(DEV_SERVICE_VARIABLES)
    .flat()
    .filter((name) => !env[name]);
  const devServices = unset.length > 0 ? await findRunningDevServices(devServicesDataDir(env)) : undefined;
  const fromDevServices = Object.fromEntries(
    Object.entries(devServices?.env ?? {}).filter(([name]) => (unset as string[]).includes(name)),
  );
  return { ...loadConfigWithSources(env, fromDevServices, cwd), devServices, fromDevServices };
}
