// SFTPGo's schedules (conditions.schedules[] of a trigger 3 rule): hour, day of month, month and day
// of week as standard cron fields, at minute 0 of each matching hour in UTC. Parsing follows the
// cron library SFTPGo validates them with: `*` and `?`, lists, ranges, steps (`*/2`, `8-18/2`,
// `5/2` meaning 5 to the end), month and weekday names; when both day fields are restricted a day
// matches either, otherwise both. Pure: no I/O.

export interface ScheduleFields {
  hour: string;
  day_of_week: string;
  day_of_month: string;
  month: string;
}

interface Field {
  values: ReadonlySet<number>;
  /** Written `*` or `?`: the day-field rule above depends on it. */
  star: boolean;
}

export interface CompiledSchedule {
  hours: Field;
  daysOfMonth: Field;
  months: Field;
  daysOfWeek: Field;
}

interface Bounds {
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const BOUNDS = {
  hour: { min: 0, max: 23 },
  day_of_month: { min: 1, max: 31 },
  month: { min: 1, max: 12, names: MONTHS },
  day_of_week: { min: 0, max: 6, names: WEEKDAYS },
} satisfies Record<keyof ScheduleFields, Bounds>;

function number(text: string, b: Bounds): number {
  const named = b.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + b.min;
  if (!/^\d+$/.test(text)) throw new Error(`"${text}" is not a number`);
  const n = Number(text);
  if (n < b.min || n > b.max) throw new Error(`${n} is out of range ${b.min}-${b.max}`);
  return n;
}

function parseField(text: string, b: Bounds): Field {
  const values = new Set<number>();
  let star = false;
  if (text.trim() === '') throw new Error('empty field');
  for (const part of text.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined) throw new Error(`"${part}" has more than one step`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1 || (stepText !== undefined && !/^\d+$/.test(stepText))) throw new Error(`bad step in "${part}"`);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      [lo, hi] = [b.min, b.max];
      if (stepText === undefined) star = true;
    } else {
      const [a, z, more] = range!.split('-');
      if (more !== undefined) throw new Error(`"${range}" is not a range`);
      lo = number(a!, b);
      // `5/2`: from 5 to the end, as the cron library reads it.
      hi = z !== undefined ? number(z, b) : stepText !== undefined ? b.max : lo;
      if (hi < lo) throw new Error(`range "${range}" ends before it starts`);
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, star };
}

/** The schedule compiled, or an Error saying which field is wrong. */
export function compileSchedule(s: ScheduleFields): CompiledSchedule | Error {
  const out: Partial<Record<keyof ScheduleFields, Field>> = {};
  for (const k of ['hour', 'day_of_month', 'month', 'day_of_week'] as const) {
    if (typeof s[k] !== 'string') return new Error(`${k} is missing`);
    try {
      out[k] = parseField(s[k], BOUNDS[k]);
    } catch (err) {
      return new Error(`${k} "${s[k]}": ${(err as Error).message}`);
    }
  }
  return { hours: out.hour!, daysOfMonth: out.day_of_month!, months: out.month!, daysOfWeek: out.day_of_week! };
}

/** Whether the schedule fires in the UTC hour of `at` (its minute is the caller's: SFTPGo fires at :00). */
export function scheduleMatchesHour(c: CompiledSchedule, at: Date): boolean {
  if (!c.hours.values.has(at.getUTCHours()) || !c.months.values.has(at.getUTCMonth() + 1)) return false;
  const dom = c.daysOfMonth.values.has(at.getUTCDate());
  const dow = c.daysOfWeek.values.has(at.getUTCDay());
  return c.daysOfMonth.star || c.daysOfWeek.star ? dom && dow : dom || dow;
}
