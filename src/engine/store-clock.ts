// The store clock of the running turns (engine/checkpoint.ts): every member is ticked once a period, and the
// members are spread over the period in slots of at most SLOT_TURNS, so no turn of the event loop carries the
// periodic writes of more than one slot.
// Why slots: the SQLite store commits the writes issued in one turn of the event loop together, 64 a transaction,
// one transaction per loop turn (store/sqlite/group-commit.ts). With 500 streaming turns on one tick, their ~500 log
// writes were eight transactions back to back, ~1.7 ms of loop held right after each tick, and the tokens arriving
// then waited for it (the LLM-like bench's p99 gap between tokens). In slots of 64 turns, one every period/SLOTS, a
// tick is at most one transaction, the same number of commits a second and the same rows in each. Turns fill the
// first slot with room, so up to SLOT_TURNS turns still share one tick and one commit.

/** Slots in a period: the clock fires every period/SLOTS and ticks one slot's members. */
export const SLOTS = 10
/** Members of a slot, at most while another slot has room: the store's group (MAX_GROUP in store/sqlite/group-commit.ts). */
export const SLOT_TURNS = 64

export interface Ticking {
  tick(): unknown
}

/** The timer functions the clock runs on (tests give fake ones). */
export interface Timers {
  setInterval(fn: () => void, ms: number): unknown
  clearInterval(handle: unknown): void
}

const realTimers: Timers = {
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
}

export class StoreClock<T extends Ticking = Ticking> {
  private readonly slots: Set<T>[] = Array.from({ length: SLOTS }, () => new Set<T>())
  private readonly slotOf = new Map<T, Set<T>>()
  private handle: unknown = null
  /** the slot the next firing ticks */
  private next = 0

  constructor(
    private readonly periodMs: number,
    private readonly timers: Timers = realTimers,
  ) {}

  /** Members now (running turns). */
  get size(): number {
    return this.slotOf.size
  }

  /**
   * Adds a member to the first slot with room (all full: the smallest). Its first tick comes within one period, as
   * every later one does.
   */
  join(m: T): void {
    if (this.slotOf.has(m)) return
    let slot = this.slots.find((s) => s.size < SLOT_TURNS)
    if (!slot) slot = this.slots.reduce((a, b) => (b.size < a.size ? b : a))
    slot.add(m)
    this.slotOf.set(m, slot)
    this.handle ??= this.timers.setInterval(() => this.fire(), this.periodMs / SLOTS)
  }

  leave(m: T): void {
    const slot = this.slotOf.get(m)
    if (!slot) return
    slot.delete(m)
    this.slotOf.delete(m)
    if (this.slotOf.size === 0 && this.handle !== null) {
      this.timers.clearInterval(this.handle)
      this.handle = null
    }
  }

  private fire(): void {
    const slot = this.slots[this.next]!
    this.next = (this.next + 1) % SLOTS
    for (const m of slot) void m.tick()
  }
}
