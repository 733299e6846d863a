/** How the soak writes: a line on stdout, counts with thousands separators, durations in seconds. */
export const say = (line: string) => console.log(line);
export const n = (x: number) => x.toLocaleString('en-US');
export const s1 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
