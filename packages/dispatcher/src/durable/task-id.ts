/**
 * A durable task's id, as `submit()` returns it: 21 characters of nanoid's
 * URL-safe alphabet, the first a letter or a digit. Applications and operators
 * pass it to command lines (`ringcast inspect <id>`), where an id that starts
 * with '-' reads as an option: one id in 64 did. The first character carries
 * log2(62) bits instead of 6; the id keeps about 126.
 */
import { customAlphabet, nanoid } from 'nanoid';

const firstCharacter = customAlphabet(
  '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
  1,
);

export function newTaskId(): string {
  return firstCharacter() + nanoid(20);
}
