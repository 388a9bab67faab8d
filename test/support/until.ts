/** Resolves once `check` holds, polling every `everyMs`; throws after `ms`. */
export async function until(check: () => Promise<boolean> | boolean, ms = 5_000, everyMs = 5): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
