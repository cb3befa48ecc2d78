/**
 * The dataset's identity, independent of archive format, entry order, compression and metadata:
 * SHA-256 (hex) of the UTF-8 text made of one line per image, sorted by name,
 *   `<name> TAB <class index> TAB <sha256 hex of the image file bytes> LF`.
 * The class index is the model's (after label resolution), so the same files labelled the same
 * way hash the same whether they came as a ZIP, a tar.gz, JSON or the builtin folder.
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function datasetManifestText(images: readonly { name: string; label: number; sha256: string }[]): string {
  const sorted = [...images].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return sorted.map((i) => `${i.name}\t${i.label}\t${i.sha256}\n`).join("");
}

export async function datasetSha256(
  images: readonly { name: string; label: number; sha256: string }[],
): Promise<string> {
  return await sha256Hex(new TextEncoder().encode(datasetManifestText(images)));
}
