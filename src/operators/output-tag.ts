// OutputTag (Flink's OutputTag): names a second stream out of one operator; its output routes records by tag.
export class OutputTag<T> {
  declare readonly _type?: T;
  constructor(readonly id: string) {
    if (typeof id !== 'string' || id.length === 0) throw new TypeError('an OutputTag needs a non-empty id');
  }
}
