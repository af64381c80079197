// The time limit of upstream calls waiting for their answer's headers: one timer for all the calls of one limit in
// flight, rather than a setTimeout and a clearTimeout each (served, taking the per-call timer out read ~2 µs of a
// pass-through request's ~75 µs of CPU, far more than its JS costs in a loop; the comparison is in the same range as
// the noise of a shared box). Calls of one limit reach their deadlines in the order they started, so a list in start
// order is in deadline order too: a call joins at the tail, leaves from anywhere when it settles (a doubly linked
// list: no search), and the one timer waits for the head.

/** A call's place in its DeadlineList, from add() until it settles or its deadline passes. */
export class PendingCall {
  prev: PendingCall | null = null
  next: PendingCall | null = null
  /** still in the list (neither settled nor expired) */
  listed = true
  /** the deadline passed first: the call's controller was aborted for it */
  expired = false

  constructor(
    readonly ctl: AbortController,
    readonly deadline: number,
    private readonly list: DeadlineList,
  ) {}

  /** The call no longer waits (its headers came, or it failed): its deadline no longer applies. */
  settle(): void {
    if (this.listed) this.list.remove(this)
  }
}

/**
 * Calls that are aborted (their controller, with an Error('timeout')) if they are still waiting `ms` after they
 * started. The timer is cleared whenever no call waits, so an idle list keeps nothing alive.
 */
export class DeadlineList {
  private head: PendingCall | null = null
  private tail: PendingCall | null = null
  private timer: ReturnType<typeof setTimeout> | null = null

  constructor(
    readonly ms: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Starts the clock of a call that `ctl` aborts. */
  add(ctl: AbortController): PendingCall {
    const call = new PendingCall(ctl, this.now() + this.ms, this)
    if (this.tail) {
      call.prev = this.tail
      this.tail.next = call
      this.tail = call
    } else {
      this.head = this.tail = call
      this.arm(this.ms)
    }
    return call
  }

  /** Whether a timer is set (tests: an empty list holds none). */
  get armed(): boolean {
    return this.timer !== null
  }

  /** @internal PendingCall.settle */
  remove(call: PendingCall): void {
    this.unlink(call)
    // Nothing waits: no timer left to keep the process up. When calls remain, the timer set for a head that has
    // left fires early once and is set again for the new head.
    if (!this.head && this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
  }

  private unlink(call: PendingCall): void {
    call.listed = false
    if (call.prev) call.prev.next = call.next
    else this.head = call.next
    if (call.next) call.next.prev = call.prev
    else this.tail = call.prev
    call.prev = call.next = null
  }

  private arm(delayMs: number): void {
    // one timer at most, even when a call is added from an abort listener while expireDue() runs
    if (this.timer) clearTimeout(this.timer)
    // setTimeout counts whole milliseconds and may fire a fraction early: expireDue() sets it again for what is left
    this.timer = setTimeout(expire, Math.max(1, Math.ceil(delayMs)), this)
  }

  /** @internal the timer's callback */
  expireDue(): void {
    this.timer = null
    const now = this.now()
    for (let call = this.head; call && call.deadline <= now; call = this.head) {
      this.unlink(call)
      call.expired = true
      call.ctl.abort(new Error('timeout'))
    }
    if (this.head) this.arm(this.head.deadline - now)
  }
}

function expire(list: DeadlineList): void {
  list.expireDue()
}
