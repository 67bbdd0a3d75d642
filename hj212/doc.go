// Package hj212 reads and writes the packets of HJ 212-2017 (污染物在线监控
// (监测)系统数据传输标准), the protocol China's monitoring stations speak over
// TCP: "##", the data segment's length in four decimal digits, the data
// segment (QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;CP=&&…&&), its CRC16 in four
// hexadecimal digits, and "\r\n".
//
// Decode checks a packet's frame, length and CRC and splits its fields;
// ParseCP reads a data command's CP (DataTime and the pollutants' values).
// Packet.Encode writes a packet with its length and CRC; Ack and Refusal
// build the acknowledgements the standard defines (9014 for data, 9011 with a
// QnRtn code for a refused request). Every function is safe for concurrent
// use; Decode and ParseCP never panic on any input (a fuzz test checks it)
// and return an *Error naming what is wrong.
//
// It is a library of the domain, stdlib only, rather than part of the
// sensors adapter, because three packages write packets: the hub's listener
// (acknowledgements), the demo's simulator and the benchmark's producers.
package hj212
