// The bounded memory of ids (tasks, service events, log events) a watch has already shown.

/** Ids of tasks and events already shown; well above the 100 a page lists, so none is shown twice. */
const MAX_REMEMBERED = 1_000;

/** Adds to a set that forgets its oldest entries past MAX_REMEMBERED (a Set keeps insertion order). */
export function remember(seen: Set<string>, id: string): void {
  seen.add(id);
  if (seen.size > MAX_REMEMBERED) seen.delete(seen.values().next().value!);
}
