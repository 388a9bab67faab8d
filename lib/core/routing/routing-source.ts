import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { RoutingConfigError } from './routing-config.error.js';

/** The environment variable holding a routing config (JSON, YAML, or a path to a `.json`/`.yaml`/`.yml` file). */
export const ROUTING_CONFIG_ENV = 'STEM_ROUTING_CONFIG';

const FILE_EXTENSIONS = new Set(['.json', '.yaml', '.yml']);

type YamlModule = { parse(text: string): unknown };

/** `yaml` is an optional peer dependency: loaded only when a config is YAML. */
function loadYaml(origin: string): YamlModule {
  try {
    return createRequire(import.meta.url)('yaml') as YamlModule;
  } catch (error) {
    throw new RoutingConfigError(origin, 'it is YAML and the "yaml" package is not installed; install it with: npm install yaml, or write the config as JSON', { cause: error });
  }
}

function parseJson(text: string, origin: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RoutingConfigError(origin, `it is not valid JSON (${(error as Error).message}); fix the syntax, or write it as YAML`, { cause: error });
  }
}

function parseYaml(text: string, origin: string): unknown {
  const yaml = loadYaml(origin);
  try {
    return yaml.parse(text);
  } catch (error) {
    throw new RoutingConfigError(origin, `it is not valid YAML (${(error as Error).message.split('\n')[0]}); fix the syntax`, { cause: error });
  }
}

/**
 * Parses routing config text, or reads the file a path names. Text starting with `{` is JSON;
 * a single line ending in `.json`, `.yaml` or `.yml` is a file path (relative to the working
 * directory); anything else is YAML (which needs the optional `yaml` package).
 *
 * @param origin where the text came from, for messages (`STEM_ROUTING_CONFIG`, `--config`)
 * @throws RoutingConfigError when the file is missing or the text does not parse
 */
export function parseRoutingSource(source: string, origin = 'routing'): unknown {
  const text = source.trim();
  if (text.length === 0) throw new RoutingConfigError(origin, 'it is empty; give JSON, YAML, or a path to a .json/.yaml/.yml file');
  if (!text.includes('\n') && FILE_EXTENSIONS.has(extname(text).toLowerCase())) {
    if (!existsSync(text)) throw new RoutingConfigError(origin, `the file "${text}" does not exist (relative paths start at ${process.cwd()}); fix the path`);
    const content = readFileSync(text, 'utf8');
    const where = `${origin} (${text})`;
    return extname(text).toLowerCase() === '.json' ? parseJson(content, where) : parseYaml(content, where);
  }
  return text.startsWith('{') ? parseJson(text, origin) : parseYaml(text, origin);
}
