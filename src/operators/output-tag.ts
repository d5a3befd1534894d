// OutputTag and side-output records (Flink's OutputTag): a second stream out of one operator, selected by tag.
export class OutputTag<T> {
  declare readonly _type?: T;
  constructor(readonly id: string) {
    if (typeof id !== 'string' || id.length === 0) throw new TypeError('an OutputTag needs a non-empty id');
  }
}

/**
 * A record emitted to a side output: it travels with the operator's main records to the selectors
 * chained behind the operator, where the main stream drops it and `getSideOutput(tag)` keeps it.
 */
export class SideOutputRecord {
  constructor(
    readonly tag: string,
    readonly value: unknown,
  ) {}
}
