/**
 * The simulator's event queue: a binary min-heap ordered by (time, sequence). The sequence number is
 * assigned at push and is unique, so events with equal times pop in the order they were scheduled:
 * the order never depends on the heap's internals.
 */
export interface Scheduled {
  readonly timeMs: number;
  readonly seq: number;
}

export class EventQueue<E extends Scheduled> {
  private readonly heap: E[] = [];

  get length(): number {
    return this.heap.length;
  }

  peek(): E | undefined {
    return this.heap[0];
  }

  push(event: E): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(event);
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!before(event, parent)) break;
      heap[i] = parent;
      i = parentIndex;
    }
    heap[i] = event;
  }

  pop(): E | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    const n = heap.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      let childEvent = heap[left]!;
      if (right < n && before(heap[right]!, childEvent)) {
        child = right;
        childEvent = heap[right]!;
      }
      if (!before(childEvent, last)) break;
      heap[i] = childEvent;
      i = child;
    }
    heap[i] = last;
    return top;
  }

  clear(): void {
    this.heap.length = 0;
  }
}

function before(x: Scheduled, y: Scheduled): boolean {
  return x.timeMs < y.timeMs || (x.timeMs === y.timeMs && x.seq < y.seq);
}
