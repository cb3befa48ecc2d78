/**
 * Dataset labels → the model's class indices. A label (folder name, `labels.csv` cell or JSON
 * value) matches, in this order: a class name exactly; a class name with `/` and `\` replaced by
 * `_` (so the folder `T-shirt_top` is the class "T-shirt/top", whose name cannot be a folder);
 * a decimal class index (`"3"`, or the JSON number 3). Anything else is an unknown label.
 */
export function resolveLabel(value: string | number, classNames: readonly string[]): number | null {
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 0 && value < classNames.length ? value : null;
  }
  const exact = classNames.indexOf(value);
  if (exact >= 0) return exact;
  const folderSafe = classNames.findIndex((name) => name.replace(/[/\\]/g, "_") === value);
  if (folderSafe >= 0) return folderSafe;
  if (/^\d+$/.test(value)) return resolveLabel(Number(value), classNames);
  return null;
}
