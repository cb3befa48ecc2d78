/**
 * The sample images the page offers: a few Fashion-MNIST test images (MIT licence, Zalando Research),
 * greyscale and colourised, shipped in src/ui/samples/ so a newcomer can check one without a file.
 */
export interface Sample {
  file: string;
  /** What the picture shows: the Fashion-MNIST class name and its index. */
  className: string;
  classIndex: number;
  colour: boolean;
}

export const SAMPLES: readonly Sample[] = [
  { file: "ankle-boot.png", className: "Ankle boot", classIndex: 9, colour: false },
  { file: "pullover.png", className: "Pullover", classIndex: 2, colour: false },
  { file: "trouser.png", className: "Trouser", classIndex: 1, colour: false },
  { file: "sandal.png", className: "Sandal", classIndex: 5, colour: false },
  { file: "coat-colour.png", className: "Coat", classIndex: 4, colour: true },
  { file: "sneaker-colour.png", className: "Sneaker", classIndex: 7, colour: true },
];
