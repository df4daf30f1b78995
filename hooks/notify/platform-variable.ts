/**
 * The platform's default `notify:` section, as JSON or YAML text: set on the hook functions by
 * whoever runs them for many services, merged with each service's own section.
 */
export const PLATFORM_NOTIFY_VARIABLE = 'GREENLIGHT_NOTIFY';
